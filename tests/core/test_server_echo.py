"""``check_server_echo``: a ``return_token_ids`` response must echo our expanded ids and placeholder ranges.

Responses are shaped as vLLM 0.33's ``GenerateResponse`` JSON: top-level ``prompt_token_ids`` (list of
ints) and ``mm_placeholders`` (vLLM modality -> list of ``{"offset", "length"}``).
"""

from __future__ import annotations

from typing import Any

import pytest
from mmrender import MultiModalData, PlaceholderRange, RawMMItem, RenderedTokens, WireValidationError
from mmrender.errors import ServerEchoMismatchError
from mmrender.wire import check_server_echo

FP = "0123456789abcdef0123456789abcdef"
H1, H2 = "1" * 32, "2" * 32


def _rendered(vllm_modality: str | None = None) -> RenderedTokens:
    items = tuple(
        RawMMItem("image", "f", FP, {"n": n}, vllm_modality=vllm_modality, raw_uri=f"data:image/png;base64,{n}")
        for n in (1, 2)
    )
    data = MultiModalData(
        mm_hashes={"image": (H1, H2)},
        mm_placeholders={"image": (PlaceholderRange(2, 4), PlaceholderRange(10, 6))},
        mm_items={"image": items},
    )
    return RenderedTokens(list(range(100, 120)), [-1] * 20, data)


def _response(key: str = "image", **change: Any) -> dict[str, Any]:
    response = {
        "request_id": "generate-tokens-1",
        "choices": [{"index": 0, "token_ids": [7, 8], "finish_reason": "stop"}],
        "prompt_token_ids": list(range(100, 120)),
        "mm_placeholders": {key: [{"offset": 2, "length": 4}, {"offset": 10, "length": 6}]},
    }
    response.update(change)
    return response


def test_a_faithful_echo_passes():
    check_server_echo(_rendered(), _response())


def test_vllm_modality_is_the_key_the_server_uses():
    check_server_echo(_rendered("vision_chunk"), _response("vision_chunk"))
    with pytest.raises(ServerEchoMismatchError, match="'image' item 0"):
        check_server_echo(_rendered("vision_chunk"), _response("image"))


def test_extra_fields_of_a_placeholder_are_ignored():
    response = _response()
    response["mm_placeholders"]["image"][0]["is_embed"] = None
    check_server_echo(_rendered(), response)


def test_first_differing_token_is_named():
    ids = list(range(100, 120))
    ids[5], ids[9] = 7, 8
    with pytest.raises(ServerEchoMismatchError, match="position 5: ours 105, the server's 7") as err:
        check_server_echo(_rendered(), _response(prompt_token_ids=ids))
    assert (err.value.field, err.value.position, err.value.ours, err.value.theirs) == ("prompt_token_ids", 5, 105, 7)


@pytest.mark.parametrize(
    ("ids", "position", "ours", "theirs"), [([*range(100, 120), 5], 20, None, 5), ([100], 1, 101, None)]
)
def test_a_longer_or_shorter_echo_is_named_where_it_stops_matching(ids, position, ours, theirs):
    with pytest.raises(ServerEchoMismatchError) as err:
        check_server_echo(_rendered(), _response(prompt_token_ids=ids))
    assert (err.value.position, err.value.ours, err.value.theirs) == (position, ours, theirs)


def test_first_differing_placeholder_is_named():
    response = _response()
    response["mm_placeholders"]["image"][1] = {"offset": 10, "length": 5}
    with pytest.raises(ServerEchoMismatchError, match="'image' item 1") as err:
        check_server_echo(_rendered(), response)
    e = err.value
    assert (e.field, e.modality, e.index) == ("mm_placeholders", "image", 1)
    assert (e.ours, e.theirs) == ({"offset": 10, "length": 6}, {"offset": 10, "length": 5})


def test_a_placeholder_only_one_side_has_is_named():
    response = _response()
    response["mm_placeholders"]["video"] = [{"offset": 17, "length": 1}]
    with pytest.raises(ServerEchoMismatchError, match="'video' item 0: ours None") as err:
        check_server_echo(_rendered(), response)
    assert err.value.theirs == {"offset": 17, "length": 1}
    response = _response()
    response["mm_placeholders"]["image"].pop()
    with pytest.raises(ServerEchoMismatchError, match=r"'image' item 1: ours .*the server's None"):
        check_server_echo(_rendered(), response)


def test_a_response_without_the_echo_is_refused():
    with pytest.raises(ServerEchoMismatchError, match="return_token_ids") as err:
        check_server_echo(_rendered(), _response(prompt_token_ids=None))
    assert err.value.field == "prompt_token_ids"
    with pytest.raises(ServerEchoMismatchError, match="no mm_placeholders"):
        check_server_echo(_rendered(), _response(mm_placeholders=None))
    with pytest.raises(ServerEchoMismatchError, match="prompt_token_ids is str"):
        check_server_echo(_rendered(), _response(prompt_token_ids="1 2 3"))
    with pytest.raises(WireValidationError, match="JSON object"):
        check_server_echo(_rendered(), [1, 2])  # type: ignore[arg-type]


def test_text_only_prompts_accept_a_null_or_empty_placeholder_map():
    rendered = RenderedTokens([1, 2, 3], [0, 0, 0])
    for placeholders in (None, {}, {"image": []}):
        check_server_echo(rendered, {"prompt_token_ids": [1, 2, 3], "mm_placeholders": placeholders})
