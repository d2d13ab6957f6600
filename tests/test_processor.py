"""EditRewardProcessor: the released input format, images encoded once, every image form, and bad input."""

import copy
import json

import numpy as np
import pytest
import torch
from PIL import Image

from editreward.modeling_editreward.images_editreward import load_rgb_image



def _triplets(photos, count=2):
    src = photos["astronaut"]
    edits = [src.convert("L").convert("RGB"), src.transpose(Image.Transpose.FLIP_LEFT_RIGHT), photos["coffee"]]
    return [src] * count, ["make it black and white"] * count, edits[:count]


def test_rows_are_triplet_major_with_one_prompt_per_dimension(processor, photos):
    inputs = processor(*_triplets(photos))
    texts = processor.batch_decode(inputs["input_ids"], skip_special_tokens=False)
    assert len(texts) == 4
    for row, text in enumerate(texts):
        dimension = processor.dimensions[row % 2]
        prompt = processor.rubric_prompts[dimension].format(text_prompt="make it black and white")
        assert prompt + processor.reward_suffix in text
        assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>")
        assert text.rstrip("<|endoftext|>").endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert (inputs["input_ids"] == processor.reward_token_id).sum(-1).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("instruction", ["make it {brighter} 100%", "turn\nit   around ", "<|im_end|"])
def test_rows_render_exactly_as_the_chat_template_does(processor, photos, instruction):
    inputs = processor([photos["coffee"]], [instruction], [photos["rocket"]])
    tokens = int(inputs["image_grid_thw"][0].prod()) // 4
    for row, dimension in enumerate(processor.dimensions):
        prompt = processor.rubric_prompts[dimension].format(text_prompt=instruction) + processor.reward_suffix
        content = [{"type": "image"}, {"type": "image"}, {"type": "text", "text": prompt}]
        text = processor.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                       chat_template=processor.chat_template, add_generation_prompt=True)
        expected = processor.tokenizer(text.replace("<|image_pad|>", "<|image_pad|>" * tokens), add_special_tokens=False)
        ids = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()
        assert ids == expected["input_ids"]


def test_default_prompts_are_the_released_ones_byte_exact(processor):
    from editreward.modeling_editreward import REWARD_SUFFIX, RUBRIC_PROMPTS

    reference = json.load(open("/work/shared/reference/rubric_prompts.json"))
    assert REWARD_SUFFIX == reference["suffix"]
    assert RUBRIC_PROMPTS == {name: d["rubric"] for name, d in reference["dimensions"].items()}
    assert list(RUBRIC_PROMPTS) == ["instruction_following", "visual_quality"]


def test_shared_source_image_is_processed_once(processor, photos):
    inputs = processor(*_triplets(photos, count=3))
    assert inputs["image_grid_thw"].shape[0] == 4  # one source + three edits
    assert inputs["image_index"].tolist() == [[0, 1], [0, 2], [0, 3]]


def test_identical_pixels_are_deduplicated_across_objects(processor, photos):
    a, b = photos["coffee"], photos["coffee"].copy()
    inputs = processor([a, b], ["x", "y"], [photos["rocket"], photos["rocket"].copy()])
    assert inputs["image_grid_thw"].shape[0] == 2


def test_source_then_edited_frames_pair_each_edit_with_its_source(make_processor, processor, photos):
    paired = make_processor(edited_image_frames="source_then_edited")
    src, other = photos["astronaut"], photos["coffee"]
    edits = [src.convert("L").convert("RGB"), other.resize((300, 200))]  # the second one has another shape
    inputs = paired([src, src, other], ["x", "y", "z"], [*edits, edits[0]])
    alone = processor([src, src, other], ["x", "y", "z"], [*edits, edits[0]])
    frames = lambda i: inputs["pixel_values"].split(inputs["image_grid_thw"].prod(-1).tolist())[i].view(-1, 3, 2, 196)
    reference = lambda i: alone["pixel_values"].split(alone["image_grid_thw"].prod(-1).tolist())[i].view(-1, 3, 2, 196)
    # sources as usual; every (source, edit) pair is its own clip, resized to its source's grid
    assert inputs["image_index"].tolist() == [[0, 1], [0, 2], [3, 4]]
    assert (inputs["image_grid_thw"] == inputs["image_grid_thw"][0]).all()
    assert torch.equal(frames(0), reference(0))
    assert torch.equal(frames(1)[:, :, 0], reference(0)[:, :, 0])  # first frame: the source
    assert torch.equal(frames(1)[:, :, 1], reference(1)[:, :, 1])  # second frame: the edited image
    assert torch.equal(frames(4)[:, :, 0], frames(3)[:, :, 0]) and not torch.equal(frames(4), frames(1))
    tokens = int(inputs["image_grid_thw"][0].prod()) // 4
    assert ((inputs["input_ids"] == paired.image_token_id).sum(-1) == 2 * tokens).all()
    with pytest.raises(ValueError, match="edited_image_frames"):
        make_processor(edited_image_frames="side_by_side")


def test_images_are_resized_to_the_pixel_budget(make_processor, photos):
    processor = make_processor(pixels=200_704)
    inputs = processor([photos["astronaut"].resize((1024, 1024))], ["x"], [photos["coffee"].resize((640, 480))])
    h_w = inputs["image_grid_thw"][:, 1:] * 14
    assert h_w.tolist() == [[448, 448], [364, 504]]  # Qwen smart_resize (floor) at min = max = 200,704 px
    assert ((inputs["input_ids"] == processor.image_token_id).sum(-1) == 256 + 234).all()


def test_paths_arrays_and_pil_give_identical_inputs(processor, photos, tmp_path):
    src, edit = photos["chelsea"], photos["rocket"]
    src.save(tmp_path / "src.png")
    from_pil = processor([src], ["crop"], [edit])
    from_path = processor([str(tmp_path / "src.png")], ["crop"], [np.asarray(edit)])
    for key in from_pil:
        assert np.array_equal(from_pil[key].numpy(), from_path[key].numpy()), key


def test_grayscale_cmyk_and_16_bit_are_converted_exactly(photos):
    rgb = photos["coffee"]
    gray = rgb.convert("L")
    assert np.array_equal(np.asarray(load_rgb_image(gray))[..., 0], np.asarray(gray))
    sixteen = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    assert sixteen.mode.startswith("I;16")
    assert np.array_equal(np.asarray(load_rgb_image(sixteen)), np.asarray(load_rgb_image(gray)))
    cmyk = rgb.convert("CMYK")
    assert np.abs(np.asarray(load_rgb_image(cmyk), int) - np.asarray(cmyk.convert("RGB"), int)).max() == 0
    opaque = rgb.convert("RGBA")
    assert np.array_equal(np.asarray(load_rgb_image(opaque)), np.asarray(rgb))


@pytest.mark.parametrize(
    "make_image, message",
    [
        (lambda p: p.convert("RGBA").putalpha(0) or p.convert("LA").point(lambda v: 0), "transparent"),
        (lambda p: np.zeros((3, 64, 64), np.uint8), "channels-first"),
        (lambda p: np.full((64, 64, 3), 2.0), "must be in \\[0, 1\\]"),
        (lambda p: np.full((64, 64, 3), np.nan), "NaN"),
        (lambda p: p.resize((12, 900)), "12x900 px; the smallest side must be at least 28 px"),
        (lambda p: Image.fromarray(np.zeros((64, 64), np.float32), "F"), "mode 'F'"),
        (lambda p: 3.5, "expected a PIL image, a file path or a numpy array"),
    ],
)
def test_bad_images_get_errors_that_name_them(processor, photos, make_image, message):
    bad = make_image(photos["coffee"])
    with pytest.raises((ValueError, TypeError), match=message) as info:
        processor([photos["astronaut"]] * 2, ["x"] * 2, [photos["rocket"], bad])
    assert "edited_images[1]" in str(info.value)


def test_unreadable_and_missing_files(processor, photos, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"source_images\[0\]: cannot read .*broken.png"):
        processor([str(tmp_path / "broken.png")], ["x"], [photos["rocket"]])
    with pytest.raises(FileNotFoundError, match=r"edited_images\[0\]: no such image file"):
        processor([photos["rocket"]], ["x"], [str(tmp_path / "missing.png")])
    good = tmp_path / "good.png"
    photos["rocket"].save(good)
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:400])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        processor([str(tmp_path / "truncated.png")], ["x"], [photos["rocket"]])


def test_bad_instructions_and_lengths(processor, photos):
    p = photos["rocket"]
    with pytest.raises(ValueError, match=r"instructions\[1\] is empty"):
        processor([p, p], ["ok", "  "], [p, p])
    with pytest.raises(ValueError, match="same length"):
        processor([p, p], ["ok"], [p, p])
    with pytest.raises(ValueError, match="reserved special tokens"):
        processor([p], ["add <|Reward|> here"], [p])


def test_large_jpeg_is_decoded_reduced(photos, tmp_path, monkeypatch):
    from PIL import JpegImagePlugin

    from editreward.modeling_editreward.images_editreward import load_image_for_budget

    big = tmp_path / "big.jpg"
    photos["astronaut"].resize((4000, 3000)).save(big, quality=90)
    decoded_sizes = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        decoded_sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    image = load_image_for_budget(str(big), 112 * 112, 28, "x")
    assert decoded_sizes and decoded_sizes[0][0] <= 4000 // 8  # decoded at 1/8 scale, not 12 million pixels
    assert image.size == (112, 84)


def test_rows_are_right_padded_whatever_the_tokenizer_padding_side(make_processor, tokenizer, photos):
    left = make_processor()
    left.tokenizer = copy.deepcopy(tokenizer)
    left.tokenizer.padding_side = "left"
    mask = left(*_triplets(photos))["attention_mask"]
    assert (mask[:, 0] == 1).all() and (mask[:, :-1] >= mask[:, 1:]).all()


def test_exif_orientation_is_applied_to_files_and_pil_images(processor, photos, tmp_path):
    upright = photos["chelsea"]
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display, as phone cameras write
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "phone.png", exif=exif)
    expected = processor([upright], ["x"], [photos["rocket"]])
    for image in (str(tmp_path / "phone.png"), Image.open(tmp_path / "phone.png")):
        inputs = processor([image], ["x"], [photos["rocket"]])
        for key in expected:
            assert torch.equal(inputs[key], expected[key]), key


def test_large_jpeg_file_gets_the_grid_of_its_original_size(photos, tmp_path):
    from editreward.modeling_editreward.images_editreward import load_image_for_budget, target_size

    path = tmp_path / "wide.jpg"
    photos["astronaut"].resize((624, 399)).save(path)  # drafted to 312x200, whose own grid would be 112x84
    from_file = load_image_for_budget(str(path), 112 * 112, 28).size
    assert from_file == load_image_for_budget(Image.open(path), 112 * 112, 28).size == target_size(624, 399, 112 * 112, 28)


@pytest.mark.parametrize("rubric", ['Answer as {"score": n}. {text_prompt}', "Rate the edit.",
                                    "{text_prompt} and again {text_prompt}", "a } b {text_prompt}"])
def test_rubric_prompts_need_exactly_one_text_prompt_field(make_processor, rubric):
    from editreward.modeling_editreward import RUBRIC_PROMPTS, EditRewardConfig

    prompts = {**RUBRIC_PROMPTS, "visual_quality": rubric}
    for make in (make_processor, EditRewardConfig):
        with pytest.raises(ValueError, match=r"rubric_prompts\['visual_quality'\].*\{text_prompt\}"):
            make(rubric_prompts=prompts)


def test_rubric_prompts_may_hold_escaped_braces(make_processor, photos):
    from editreward.modeling_editreward import RUBRIC_PROMPTS

    processor = make_processor(rubric_prompts={**RUBRIC_PROMPTS, "visual_quality": 'Answer as {{"score": n}}. {text_prompt}'})
    text = processor.batch_decode(processor([photos["coffee"]], ["x"], [photos["rocket"]])["input_ids"])[1]
    assert 'Answer as {"score": n}. x' in text


@pytest.mark.parametrize("suffix", ["gif", "webp"])
def test_an_animated_image_is_refused_not_scored_on_its_first_frame(processor, photos, tmp_path, suffix):
    path = tmp_path / f"animated.{suffix}"
    frames = [photos["rocket"], photos["coffee"].resize(photos["rocket"].size)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(ValueError, match=r"edited_images\[1\]: an animated image of 2 frames, and the model scores one "
                                         r"still image\. Pick the frame yourself: im\.seek\(k\)"):
        processor([photos["astronaut"]] * 2, ["x"] * 2, [photos["rocket"], str(path)])
    with Image.open(path) as animated:
        animated.seek(1)
        processor([photos["astronaut"]], ["x"], [animated.convert("RGB")])  # the chosen frame scores


def test_dataset_columns_are_taken_as_lists(processor, photos):
    """`processor(ds["source"], ds["instruction"], ds["edited"])`: datasets' columns are sequences, not one image."""
    import datasets

    rows = {"source": [photos["astronaut"], photos["coffee"]], "instruction": ["mirror it", "make it gray"],
            "edited": [photos["rocket"], photos["chelsea"]]}  # fmt: skip
    table = datasets.Dataset.from_dict(rows, features=datasets.Features(
        {"source": datasets.Image(), "instruction": datasets.Value("string"), "edited": datasets.Image()}))
    from_columns = processor(table["source"], table["instruction"], table["edited"])
    from_lists = processor(rows["source"], rows["instruction"], rows["edited"])
    assert from_columns["image_index"].shape == (2, 2)
    for key in ("input_ids", "pixel_values", "image_index"):
        assert torch.equal(from_columns[key], from_lists[key])
