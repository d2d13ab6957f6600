"""Attention alone over shared-prefix packed rows, three ways, on the packing of real processor rows: SDPA under
the dense 4-D tree mask (every block computed), the package's tree attention (one SDPA call per tree depth), and
FlexAttention with a block mask built from the same tree (compiled through inductor, as it must be to skip blocks;
on this CPU that needs the C++ toolchain). Prints ms per call (interleaved medians), FlexAttention's compile time,
and each side's largest difference from the dense mask's output on real queries.

    python benchmarks/bench_attention.py [--edits 1,4] [--repeats 5] [--threads 1]
"""

import argparse
import statistics
import time

import torch
from torch.nn import functional as F
from common import INSTRUCTIONS, add_common_arguments, build_model, build_processor, edits_of, photo, set_threads
from timing import interleaved, load_average, machine

from editreward.modeling_editreward.attention_editreward import TreeAttentionPlan, tree_attention_forward
from editreward.modeling_editreward.packing_editreward import RowStructure, plan_shared_prefix


def packed_layout(model, processor, count: int):
    """The packed layout of `count` edits of one source (the small config's rows: 256 visual tokens per image)."""
    source = photo("astronaut")
    inputs = processor(source_images=[source] * count, instructions=[INSTRUCTIONS["astronaut"]] * count,
                       edited_images=edits_of(source)[:count])  # fmt: skip
    dims = len(model.config.dimensions)
    rows = RowStructure.of(inputs["input_ids"], inputs["attention_mask"],
                           inputs["image_index"].repeat_interleave(dims, dim=0), model.config)  # fmt: skip
    return plan_shared_prefix(inputs["input_ids"], rows.prefix_end.tolist(), rows.edit_end.tolist(),
                              rows.images[:, 0].tolist(), rows.images[:, 1].tolist(), rows.reward_cols.tolist())


def flex_side(layout, query, key, value, scale):
    """A compiled FlexAttention call whose block mask is the tree's (read from the layout's dense mask): (compile
    seconds, the call)."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    allowed = layout.attention_mask()[0, 0]

    def tree(b, h, q, k):
        return allowed[q, k]

    block_mask = create_block_mask(tree, None, None, layout.packed_len, layout.packed_len, device="cpu")
    compiled = torch.compile(flex_attention, dynamic=False)
    start = time.perf_counter()
    compiled(query, key, value, block_mask=block_mask, scale=scale, enable_gqa=True)
    return time.perf_counter() - start, lambda: compiled(query, key, value, block_mask=block_mask, scale=scale,
                                                         enable_gqa=True)  # fmt: skip


def main():
    parser = add_common_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]), repeats=5)
    parser.add_argument("--edits", default="1,4", help="edits of one source per packed row (default 1,4)")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    processor = build_processor(args.family)
    model = build_model(processor, args.size, family=args.family)
    text = model.config.vlm_config.text_config
    heads, kv_heads = text.num_attention_heads, text.num_key_value_heads
    dim = text.hidden_size // heads
    print(f"machine: {machine()}; torch {torch.__version__}, {threads} thread(s), float32; load {load_average()}")
    print(f"attention of the '{args.size}' config: {heads} heads, {kv_heads} KV heads, head size {dim}")

    class Module(torch.nn.Module):
        num_key_value_groups, is_causal = heads // kv_heads, True

    for count in map(int, args.edits.split(",")):
        layout = packed_layout(model, processor, count)
        generator = torch.Generator().manual_seed(0)
        query = torch.randn(1, heads, layout.packed_len, dim, generator=generator)
        key, value = (torch.randn(1, kv_heads, layout.packed_len, dim, generator=generator) for _ in range(2))
        scale, mask = dim**-0.5, layout.attention_mask()
        plan = TreeAttentionPlan.of(layout)
        outputs = {}

        def dense():
            outputs["dense"] = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale,
                                                              enable_gqa=True).transpose(1, 2)  # fmt: skip

        def tree():
            outputs["tree"] = tree_attention_forward(Module(), query, key, value, None, scaling=scale,
                                                     editreward_tree=plan)[0]  # fmt: skip

        sides = {"SDPA, dense tree mask": dense, "tree attention (SDPA per depth)": tree}
        try:
            compile_s, flex = flex_side(layout, query, key, value, scale)
            sides["FlexAttention, tree block mask"] = lambda: outputs.__setitem__("flex", flex().transpose(1, 2))
        except Exception as error:  # noqa: BLE001 - report why the option is unavailable here
            compile_s = None
            print(f"FlexAttention unavailable here: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
        with torch.inference_mode():
            times = interleaved(sides, args.repeats)
        valid = layout.valid[0]
        print(f"\n{count} edit(s): packed row of {layout.packed_len} tokens, {len(layout.segments[0])} segments"
              + (f"; FlexAttention compiled in {compile_s:.1f} s" if compile_s is not None else ""))
        dense_median = statistics.median(times["SDPA, dense tree mask"])
        for (side, seconds), name in zip(times.items(), ("dense", "tree", "flex")):
            difference = (outputs[name][0, valid] - outputs["dense"][0, valid]).abs().max().item()
            median = statistics.median(seconds)
            print(f"  {side:<34} {median * 1e3:8.1f} ms  ({dense_median / median:.2f}x the dense mask)  largest "
                  f"difference {difference:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
