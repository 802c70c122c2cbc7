"""A story that names the damaged or missing goods gives the extent; one naming only the parcel does not."""

from __future__ import annotations

import pytest

from backend.complaints.goods import MAX_EXTENT_CHARS, named_extent


@pytest.mark.parametrize(
    ("story", "extent"),
    [
        ("the vase inside is smashed", "the vase inside is smashed"),
        ("EA100000065CN arrived and the vase inside is smashed!!", "the vase inside is smashed"),
        ("screen cracked", "screen cracked"),
        ("my TV is broken", "my TV is broken"),
        ("two bottles of wine are missing", "two bottles of wine are missing"),
        ("The package was delivered but the laptop screen is cracked", "the laptop screen is cracked"),
        ("broken glasses in the box", "broken glasses in the box"),
        ("the lamp broke during shipping", "the lamp broke during shipping"),
        ("里面的花瓶碎了", "里面的花瓶碎了"),
        ("外箱压扁了，里面的杯子也碎了两个", "里面的杯子也碎了两个"),
        ("摔坏了一台咖啡机", "摔坏了一台咖啡机"),
        ("我的手机屏幕碎了", "我的手机屏幕碎了"),
        ("少了两件衣服", "少了两件衣服"),
        ("EA100000065CN 花瓶碎了！！太过分了", "花瓶碎了"),
    ],
)
def test_the_goods_named_in_the_story_are_the_extent(story: str, extent: str) -> None:
    assert named_extent(story) == extent


@pytest.mark.parametrize(
    "story",
    [
        "my parcel arrived damaged",
        "the box is crushed",
        "it arrived broken",
        "items missing from my order",
        "I want to complain, my shipment is damaged",
        "package is lost",
        "lost in transit",
        "everything is wet",
        "my order hasn't arrived",
        "快递坏了",
        "包装破了",
        "东西全坏了",
        "送来的时候就坏了",
        "包裹丢了",
        "纸箱破了一个洞",
        "快递到了但是碎了",
        "",
        "EA100000065CN",
    ],
)
def test_a_story_that_names_only_the_parcel_leaves_the_question(story: str) -> None:
    assert named_extent(story) is None


def test_a_whole_story_in_one_clause_is_not_an_extent() -> None:
    story = "the vase " + "really " * (MAX_EXTENT_CHARS // 7) + "is smashed"
    assert named_extent(story) is None
