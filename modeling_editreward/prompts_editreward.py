"""The rubric prompts of the released EditReward models, byte-exact.

Source: TIGER-AI-Lab/EditReward, EditReward/dataset/prompts.py and data_collator_qwen_edit.py at commit edb027e.
The text of the user turn for dimension `k` is `RUBRIC_PROMPTS[k].format(text_prompt=instruction) + REWARD_SUFFIX`.
Leading newlines and trailing double spaces are part of the prompts; do not reformat them.
"""

import string

REWARD_TOKEN = '<|Reward|>'
REWARD_SUFFIX = '\nPlease provide the overall ratings of this image: <|Reward|>\n\nEND\n'

RUBRIC_PROMPTS = {
    'instruction_following': (
        '\n'
        'You are tasked with evaluating an edited image **in comparison with the original source image** based on **Instruction Following & Semantic Fidelity**, and assigning a score from 1 to 4, with 1 being the worst and 4 being the best.  \n'
        'This dimension focuses on how accurately, completely, and exclusively the model executed the given text instruction.\n'
        '\n'
        '**Inputs Provided:**  \n'
        '- Source Image (before editing)  \n'
        '- Edited Image (after applying the instruction)  \n'
        '- Text Instruction  \n'
        '\n'
        '**Sub-Dimensions to Evaluate:**\n'
        '\n'
        '- **Semantic Accuracy:**  \n'
        '  Assess whether the edited content accurately captures the semantics of the instruction. The edited result should precisely match the intended meaning. For example, if the instruction is "replace apples with oranges," the object must clearly be oranges, not other fruits.\n'
        '\n'
        '- **Completeness of Editing:**  \n'
        '  Check whether **all parts** of the instruction are fully executed. For multi-step edits (e.g., "replace a red car with a blue bicycle"), both the color change and the object replacement must be done without omissions.\n'
        '\n'
        '- **Exclusivity of Edit (No Over-Editing):**  \n'
        '  Ensure that only the requested parts are changed. The rest of the image (as seen in the source) should remain unaltered. For example, if the instruction only involves replacing an object, the background, lighting, and unrelated objects should not be unnecessarily modified.\n'
        '\n'
        '**Scoring Criteria:**\n'
        '- **4 (Very Good):** Perfectly accurate, complete, and exclusive execution of the instruction.  \n'
        '- **3 (Relatively Good):** Largely correct, but with minor omissions or slight over-editing.  \n'
        '- **2 (Relatively Poor):** Major misinterpretation, incomplete edits, or noticeable unintended changes.  \n'
        '- **1 (Very Poor):** Instruction ignored or completely wrong execution.\n'
        '\n'
        'Text instruction - {text_prompt}\n'
    ),
    'visual_quality': (
        '\n'
        'You are tasked with evaluating an edited image **in comparison with the original source image** based on **Visual Quality & Realism**, and assigning a score from 1 to 4, with 1 being the worst and 4 being the best.  \n'
        'This dimension focuses on how realistic, artifact-free, and aesthetically appealing the edited image is, while remaining consistent with the source image.\n'
        '\n'
        '**Inputs Provided:**  \n'
        '- Source Image (before editing)  \n'
        '- Edited Image (after applying the instruction)  \n'
        '- Text Instruction  \n'
        '\n'
        '**Sub-Dimensions to Evaluate:**\n'
        '\n'
        '- **Plausibility & Physical Consistency:**  \n'
        '  Check whether the edit aligns with the laws of physics and the scene context. Lighting, shadows, reflections, perspective, size, and interactions with the environment should all appear natural compared to the source image.\n'
        '\n'
        '- **Artifact-Free Quality:**  \n'
        '  Look for technical flaws such as blur, distortions, pixel misalignment, unnatural textures, or seams around edited regions. High-quality results should be free from such visible artifacts.\n'
        '\n'
        '- **Aesthetic Quality:**  \n'
        '  Evaluate the overall harmony and visual appeal. The image should look natural, balanced, and pleasant. Colors, composition, and atmosphere should enhance the image rather than degrade it.\n'
        '\n'
        '**Scoring Criteria:**\n'
        '- **4 (Very Good):** Perfectly realistic, artifact-free, seamless, and aesthetically pleasing.  \n'
        '- **3 (Relatively Good):** Mostly realistic and clean, with only minor flaws that do not significantly distract.  \n'
        '- **2 (Relatively Poor):** Noticeable physical inconsistencies or visible artifacts that make the edit unnatural.  \n'
        '- **1 (Very Poor):** Severe artifacts, incoherent composition, or visually unusable result.\n'
        '\n'
        'Text instruction - {text_prompt}\n'
    ),
}


# The compact single-pass format (`input_format="compact"`, for new models): one row per triplet holding both
# rubrics' essentials and one reward token per dimension, in the order of the released dimensions; each head reads
# its own token. Not the released models' input: they were trained on one row per dimension.
COMPACT_PROMPT = (
    '\nCompare the edited image with the source image. Instruction: {text_prompt}\n'
    'Instruction following (accurate, complete, nothing else changed), 1-4: <|Reward|>\n'
    'Visual quality (realistic, artifact-free, coherent), 1-4: <|Reward|>\n'
)


def check_rubric_prompts(rubric_prompts: dict, dimensions: list) -> None:
    """Each dimension needs a rubric that formats with exactly one `{text_prompt}` field and no other."""
    missing = [d for d in dimensions if d not in rubric_prompts]
    if missing:
        raise ValueError(f"rubric_prompts has no prompt for dimensions {missing}; add one per dimension.")
    for dimension in dimensions:
        _check_fields(rubric_prompts[dimension], f"rubric_prompts[{dimension!r}]")


def check_compact_prompt(compact_prompt: str, dimensions: list, reward_token: str) -> None:
    """The compact prompt formats with one `{text_prompt}` and holds one reward token per dimension."""
    _check_fields(compact_prompt, "compact_prompt")
    if compact_prompt.count(reward_token) != len(dimensions):
        raise ValueError(
            f"compact_prompt holds the reward token {reward_token!r} {compact_prompt.count(reward_token)} times but "
            f"there are {len(dimensions)} dimensions {list(dimensions)}; write one reward token per dimension, in "
            "their order."
        )


def _check_fields(prompt: str, name: str) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(prompt) if field is not None]
    except ValueError as error:  # a lone '{' or '}'
        fields = [str(error)]
    if fields != ["text_prompt"]:
        raise ValueError(
            f"{name} must contain the field {{text_prompt}} exactly once and no other format field, found {fields}; "
            "write literal braces as {{ and }}."
        )
