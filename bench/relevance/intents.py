"""Development intents that the catalog-attribute judgments do not measure, built from the catalog and
the dev queries:

- ``brand_alone``: a brand typed alone, lower-cased ("asics", "mark taylor", "u.s. polo assn."). A
  product's brand is the words of its title before its first gender word ("Puma Men ..." -> "puma");
  brands with at least three products, that are no colour or product type. Grade 2: every product whose
  title starts with the brand (whole words, any case); no grade 1;
- ``snapshot``: a product's photo as a phone snapshot of it: cropped (65-90% of each side), mirrored
  half the time, turned a little (up to 8 degrees, light grey corners), brightness and contrast jittered,
  a slight colour cast, saved as a JPEG of quality 70-85 at 224x224 under ``snapshots/``. Grade 2: that
  product alone (no ``spec.exclude``: the product itself is the answer);
- ``known_item``: a shopper retyping one product's name: a title unique in the catalog, of at least four
  words, with a word that names the product (in at most 20 titles, and no brand, gender, colour or type
  word: "realflex", "dolphin"). Lower-cased, in four forms in turn: the title without its brand; a run of
  3-5 of its rarest words, a naming word among them; the whole title with one typing slip in its longest
  word; the title without its gender word. Every form but the slip is kept only where no other title
  holds it (with or without gender words). Grade 2: that product alone;
- ``zh_brand``: a brand and a product type in Chinese ("nike 运动鞋"), the Chinese type as the dev
  Chinese queries write it; pairs with at least three products. Grade 2: the brand (title starts with it)
  and the type; grade 1: the type, another brand;
- ``es``, ``fr``, ``de``, ``ja``: "<colour> <gender> <type>" as a shopper writes it in that language
  ("zapatillas deportivas negras para hombre", "sac à dos noir homme", "schwarze Herren Sporthose",
  "メンズ 黒 スニーカー"), from the hand-written tables below; specs (type, colour, gender) with at least
  three grade-2 products. Judged as the dev set: grade 2, the type, the colour and the gender (Unisex fits
  both); grade 1, the type with one of colour and gender off;
- ``zh_hant``: a dev Chinese query in traditional characters ("黑色男士雙肩包"), converted with the
  hand-written character map below; it takes its source's judgments unchanged;
- ``zh_unseen``: "<colour> <gender> <type>" in Chinese words the dev Chinese queries never use: other
  words for the same types ("跑鞋", "墨镜", "腕表", "皮夹" where the dev set writes 运动鞋, 太阳镜, 手表,
  钱包), types the dev set never asks for ("连衣裙", "耳环"), colours and genders as shoppers also write
  them ("藏蓝", "咖啡色", "男款", "女式"), in three word orders ("男款黑色跑鞋", "黑色跑鞋 男", "黑色男式跑鞋"),
  from the hand-written tables below. Judged as the other languages.

Every query has at least one grade-2 product. Written outside the repository (the judgments folder by
default), then scored like any judgment set:

    python bench/relevance/intents.py [--out DIR]
    python bench/relevance/run.py --queries DIR/queries-intents.jsonl --qrels DIR/qrels-intents.tsv \\
        --name results-shopper-intents
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from hybrid_search.core.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from derived import dev_data  # noqa: E402  (bench/relevance/derived.py)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion"
# Title words that name the audience ("Men", "Women's", "Girl's", "Kids"): a brand is the words before one.
AUDIENCE_WORDS = {"men", "women", "mens", "womens", "boys", "girls", "boy", "girl", "kids", "kid", "unisex"}
AUDIENCE_WORDS |= {"infant", "infants"}
PATTERN_WORDS = {"solid", "plain", "striped", "stripes", "stripe", "checked", "check", "checks", "printed", "print"}
CHINESE_QUERY = re.compile(r"^(?P<colour>.+?)(?P<gender>男士|女士|男孩|女孩|中性)(?P<type>.+)$")
RARE_TITLES = 20  # a word in at most this many titles can name a product (known_item)
MIN_PRODUCTS = 3  # a brand, a (brand, type) pair or a spec has at least this many products
COUNTS = {"brand_alone": 80, "snapshot": 80, "known_item": 100, "zh_brand": 60, "language": 50}
SNAPSHOT_SIZE = (224, 224)
GENDERS = ("Men", "Women")

# Per language: article type -> the shopper's words for it and, for es/fr, their grammatical gender
# and number ("m", "f", "mp", "fp"); for de, the noun's gender ("m", "f", "n") or "p" for a plural.
SPANISH_TYPES = {
    "Tshirts": ("camisetas", "fp"),
    "Shirts": ("camisas", "fp"),
    "Casual Shoes": ("zapatos casual", "mp"),
    "Watches": ("reloj", "m"),
    "Sports Shoes": ("zapatillas deportivas", "fp"),
    "Kurtas": ("kurtas", "fp"),
    "Tops": ("tops", "mp"),
    "Handbags": ("bolso", "m"),
    "Heels": ("zapatos de tacón", "mp"),
    "Sunglasses": ("gafas de sol", "fp"),
    "Flip Flops": ("chanclas", "fp"),
    "Wallets": ("cartera", "f"),
    "Sandals": ("sandalias", "fp"),
    "Belts": ("cinturón", "m"),
    "Backpacks": ("mochila", "f"),
    "Socks": ("calcetines", "mp"),
    "Formal Shoes": ("zapatos de vestir", "mp"),
    "Jeans": ("vaqueros", "mp"),
    "Shorts": ("pantalones cortos", "mp"),
    "Trousers": ("pantalones", "mp"),
    "Flats": ("bailarinas", "fp"),
    "Bra": ("sujetador", "m"),
    "Earrings": ("pendientes", "mp"),
    "Dresses": ("vestido", "m"),
    "Sarees": ("sari", "m"),
    "Caps": ("gorra", "f"),
    "Nail Polish": ("esmalte de uñas", "m"),
    "Sweatshirts": ("sudadera", "f"),
    "Track Pants": ("pantalones de chándal", "mp"),
    "Jackets": ("chaqueta", "f"),
    "Sweaters": ("jersey", "m"),
    "Clutches": ("bolso de mano", "m"),
}
FRENCH_TYPES = {
    "Tshirts": ("t-shirt", "m"),
    "Shirts": ("chemise", "f"),
    "Casual Shoes": ("baskets", "fp"),
    "Watches": ("montre", "f"),
    "Sports Shoes": ("chaussures de sport", "fp"),
    "Kurtas": ("kurta", "f"),
    "Tops": ("top", "m"),
    "Handbags": ("sac à main", "m"),
    "Heels": ("chaussures à talons", "fp"),
    "Sunglasses": ("lunettes de soleil", "fp"),
    "Flip Flops": ("tongs", "fp"),
    "Wallets": ("portefeuille", "m"),
    "Sandals": ("sandales", "fp"),
    "Belts": ("ceinture", "f"),
    "Backpacks": ("sac à dos", "m"),
    "Socks": ("chaussettes", "fp"),
    "Formal Shoes": ("chaussures de ville", "fp"),
    "Jeans": ("jean", "m"),
    "Shorts": ("short", "m"),
    "Trousers": ("pantalon", "m"),
    "Flats": ("ballerines", "fp"),
    "Bra": ("soutien-gorge", "m"),
    "Earrings": ("boucles d'oreilles", "fp"),
    "Dresses": ("robe", "f"),
    "Sarees": ("sari", "m"),
    "Caps": ("casquette", "f"),
    "Nail Polish": ("vernis à ongles", "m"),
    "Sweatshirts": ("sweat", "m"),
    "Track Pants": ("pantalon de jogging", "m"),
    "Jackets": ("veste", "f"),
    "Sweaters": ("pull", "m"),
    "Clutches": ("pochette", "f"),
}
GERMAN_TYPES = {
    "Tshirts": ("T-Shirt", "n"),
    "Shirts": ("Hemd", "n"),
    "Casual Shoes": ("Sneaker", "p"),
    "Watches": ("Armbanduhr", "f"),
    "Sports Shoes": ("Sportschuhe", "p"),
    "Kurtas": ("Kurta", "f"),
    "Tops": ("Top", "n"),
    "Handbags": ("Handtasche", "f"),
    "Heels": ("Pumps", "p"),
    "Sunglasses": ("Sonnenbrille", "f"),
    "Flip Flops": ("Zehentrenner", "p"),
    "Wallets": ("Geldbörse", "f"),
    "Sandals": ("Sandalen", "p"),
    "Belts": ("Gürtel", "m"),
    "Backpacks": ("Rucksack", "m"),
    "Socks": ("Socken", "p"),
    "Formal Shoes": ("Anzugschuhe", "p"),
    "Jeans": ("Jeans", "f"),
    "Shorts": ("Shorts", "p"),
    "Trousers": ("Hose", "f"),
    "Flats": ("Ballerinas", "p"),
    "Bra": ("BH", "m"),
    "Earrings": ("Ohrringe", "p"),
    "Dresses": ("Kleid", "n"),
    "Sarees": ("Sari", "m"),
    "Caps": ("Cap", "f"),
    "Nail Polish": ("Nagellack", "m"),
    "Sweatshirts": ("Sweatshirt", "n"),
    "Track Pants": ("Jogginghose", "f"),
    "Jackets": ("Jacke", "f"),
    "Sweaters": ("Pullover", "m"),
    "Clutches": ("Clutch", "f"),
}
JAPANESE_TYPES = {
    "Tshirts": "Tシャツ",
    "Shirts": "シャツ",
    "Casual Shoes": "スニーカー",
    "Watches": "腕時計",
    "Sports Shoes": "スポーツシューズ",
    "Kurtas": "クルタ",
    "Tops": "トップス",
    "Handbags": "ハンドバッグ",
    "Heels": "パンプス",
    "Sunglasses": "サングラス",
    "Flip Flops": "ビーチサンダル",
    "Wallets": "財布",
    "Sandals": "サンダル",
    "Belts": "ベルト",
    "Backpacks": "リュック",
    "Socks": "靴下",
    "Formal Shoes": "ビジネスシューズ",
    "Jeans": "ジーンズ",
    "Shorts": "ショートパンツ",
    "Trousers": "パンツ",
    "Flats": "フラットシューズ",
    "Bra": "ブラジャー",
    "Earrings": "ピアス",
    "Dresses": "ワンピース",
    "Sarees": "サリー",
    "Caps": "キャップ",
    "Nail Polish": "マニキュア",
    "Sweatshirts": "トレーナー",
    "Track Pants": "ジャージパンツ",
    "Jackets": "ジャケット",
    "Sweaters": "セーター",
    "Clutches": "クラッチバッグ",
}
# Colours: es and fr give the masculine singular (inflected by spanish()/french()); de gives the form
# after the noun and the stem that takes an ending before it (None: not inflected, so always after).
SPANISH_COLOURS = {
    "Black": "negro",
    "White": "blanco",
    "Blue": "azul",
    "Brown": "marrón",
    "Grey": "gris",
    "Red": "rojo",
    "Green": "verde",
    "Pink": "rosa",
    "Navy Blue": "azul marino",
    "Purple": "morado",
    "Silver": "plateado",
    "Beige": "beige",
    "Yellow": "amarillo",
    "Gold": "dorado",
    "Orange": "naranja",
    "Maroon": "granate",
    "Olive": "verde oliva",
}
SPANISH_INVARIABLE = {"rosa", "azul marino", "beige", "naranja", "verde oliva"}
FRENCH_COLOURS = {
    "Black": "noir",
    "White": "blanc",
    "Blue": "bleu",
    "Brown": "marron",
    "Grey": "gris",
    "Red": "rouge",
    "Green": "vert",
    "Pink": "rose",
    "Navy Blue": "bleu marine",
    "Purple": "violet",
    "Silver": "argenté",
    "Beige": "beige",
    "Yellow": "jaune",
    "Gold": "doré",
    "Orange": "orange",
    "Maroon": "bordeaux",
    "Olive": "vert olive",
}
FRENCH_INVARIABLE = {"marron", "bleu marine", "orange", "bordeaux", "vert olive"}
FRENCH_FEMININE = {"blanc": "blanche", "violet": "violette"}
GERMAN_COLOURS = {
    "Black": ("schwarz", "schwarz"),
    "White": ("weiß", "weiß"),
    "Blue": ("blau", "blau"),
    "Brown": ("braun", "braun"),
    "Grey": ("grau", "grau"),
    "Red": ("rot", "rot"),
    "Green": ("grün", "grün"),
    "Pink": ("rosa", None),
    "Navy Blue": ("marineblau", "marineblau"),
    "Purple": ("lila", None),
    "Silver": ("silber", "silbern"),
    "Beige": ("beige", None),
    "Yellow": ("gelb", "gelb"),
    "Gold": ("gold", "golden"),
    "Orange": ("orange", None),
    "Maroon": ("weinrot", "weinrot"),
    "Olive": ("olivgrün", "olivgrün"),
}
GERMAN_ENDINGS = {"m": "er", "f": "e", "n": "es", "p": "e"}  # no article before the adjective
JAPANESE_COLOURS = {
    "Black": "黒",
    "White": "白",
    "Blue": "青",
    "Brown": "茶色",
    "Grey": "グレー",
    "Red": "赤",
    "Green": "緑",
    "Pink": "ピンク",
    "Navy Blue": "ネイビー",
    "Purple": "紫",
    "Silver": "シルバー",
    "Beige": "ベージュ",
    "Yellow": "黄色",
    "Gold": "ゴールド",
    "Orange": "オレンジ",
    "Maroon": "ボルドー",
    "Olive": "オリーブ",
}
AUDIENCE = {
    "es": {"Men": "para hombre", "Women": "para mujer"},
    "fr": {"Men": "homme", "Women": "femme"},
    "de": {"Men": "Herren", "Women": "Damen"},
    "ja": {"Men": "メンズ", "Women": "レディース"},
}
# Chinese words for a type, a colour and a gender that the dev Chinese queries never use (checked by
# unseen_words() against them); a spec takes the n-th of its type's and colour's words in turn.
CHINESE_UNSEEN_TYPES = {
    "Tshirts": ("短袖", "体恤"),
    "Shirts": ("衬衣",),
    "Casual Shoes": ("板鞋", "便鞋"),
    "Watches": ("腕表",),
    "Sports Shoes": ("跑鞋", "球鞋"),
    "Tops": ("上装",),
    "Handbags": ("手袋", "挎包"),
    "Heels": ("细跟鞋",),
    "Sunglasses": ("墨镜",),
    "Flip Flops": ("夹脚拖",),
    "Wallets": ("皮夹", "钱夹"),
    "Belts": ("腰带",),
    "Backpacks": ("背包",),
    "Socks": ("棉袜",),
    "Formal Shoes": ("皮鞋", "商务鞋"),
    "Jeans": ("丹宁裤",),
    "Shorts": ("五分裤", "沙滩裤"),
    "Trousers": ("裤子", "西裤"),
    "Flats": ("平跟鞋", "单鞋"),
    "Caps": ("鸭舌帽",),
    "Sweatshirts": ("套头衫", "连帽衫"),
    "Track Pants": ("卫裤",),
    "Jackets": ("外套",),
    "Sweaters": ("针织衫",),
    "Briefs": ("三角裤",),
    "Dresses": ("连衣裙",),
    "Clutches": ("手拿包",),
    "Earrings": ("耳环",),
    "Bra": ("文胸",),
}
CHINESE_UNSEEN_COLOURS = {
    "Black": ("纯黑", "黑"),
    "White": ("纯白", "白"),
    "Blue": ("蓝",),
    "Brown": ("咖啡色", "褐色"),
    "Grey": ("灰",),
    "Red": ("大红", "红"),
    "Green": ("绿",),
    "Pink": ("粉红色",),
    "Navy Blue": ("藏蓝色", "深蓝色"),
    "Purple": ("紫",),
    "Silver": ("银白色",),
    "Beige": ("杏色", "米黄色"),
    "Yellow": ("黄",),
    "Gold": ("金",),
    "Orange": ("橘色", "橘黄色"),
    "Maroon": ("枣红色", "暗红色"),
    "Olive": ("军绿色",),
}
CHINESE_UNSEEN_AUDIENCE = {"Men": ("男款", "男式", "男"), "Women": ("女款", "女式", "女")}
# Simplified -> traditional for the characters the dev Chinese queries use; SAME are written alike in both.
TRADITIONAL = dict(
    zip(
        "内凉动卫双夹尔带库榄红绿蓝衬袜装裤运钱银镜长闲阳领风黄表",
        "內涼動衛雙夾爾帶庫欖紅綠藍襯襪裝褲運錢銀鏡長閒陽領風黃錶",
        strict=True,
    )
)
SAME = set("上人仔休克包塔士太女子字帽平底式恤手拖提族棒棕橄橙正毛民灰牛球男白皮短米粉紫肩色藏衣衫跟酒金青鞋高黑")


def words(title: str) -> list[str]:
    """A title's words, lower-cased."""
    return title.lower().split()


def is_audience(word: str) -> bool:
    """Whether a lower-cased title word names the audience ("men", "women's", "girl's", "boys'")."""
    return word.removesuffix("'s").removesuffix("'") in AUDIENCE_WORDS


def brand_of(title: str) -> str:
    """The words of a title before its first gender word ("" where none comes first or there is none)."""
    tokens = words(title)
    for i, word in enumerate(tokens):
        if is_audience(word):
            return " ".join(tokens[:i])
    return ""


def starts_with(title: str, brand: str) -> bool:
    """Whether a title starts with the brand's words (whole words, any case)."""
    brand_words = brand.split()
    return words(title)[: len(brand_words)] == brand_words


def brands(products: list[dict]) -> list[str]:
    """Brands of at least MIN_PRODUCTS products, of two letters or more, that are no colour or product type
    and hold no colour, type or pattern word after their first ("red tape" yes, "red tape black" no)."""
    descriptive = {p["colour"].lower() for p in products} | {p["article_type"].lower() for p in products}
    counts = Counter(brand_of(p["title"]) for p in products)
    return sorted(
        brand
        for brand, n in counts.items()
        if n >= MIN_PRODUCTS
        and len(re.sub(r"[^a-z]", "", brand)) >= 2
        and brand not in descriptive
        and not set(brand.split()[1:]) & (descriptive | PATTERN_WORDS)
    )


def brand_alone(products: list[dict], rng: random.Random) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of brands typed alone."""
    chosen = rng.sample(brands(products), COUNTS["brand_alone"])
    return [
        (
            {"kind": "brand_alone", "lang": "en", "text": brand},
            {p["id"]: 2 for p in products if starts_with(p["title"], brand)},
        )
        for brand in chosen
    ]


def snapshot_photo(photo: Image.Image, rng: random.Random) -> tuple[Image.Image, int]:
    """A product photo as a phone snapshot of it, and the JPEG quality to save it at."""
    width, height = photo.size
    crop_w, crop_h = round(width * rng.uniform(0.65, 0.9)), round(height * rng.uniform(0.65, 0.9))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    photo = photo.crop((left, top, left + crop_w, top + crop_h))
    if rng.random() < 0.5:
        photo = ImageOps.mirror(photo)
    photo = photo.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BICUBIC, fillcolor=(225, 225, 225))
    photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.75, 1.25))
    photo = ImageEnhance.Contrast(photo).enhance(rng.uniform(0.75, 1.25))
    gains = [rng.uniform(0.93, 1.07) for _ in range(3)]  # a slight colour cast
    photo = photo.point([min(255, round(value * gain)) for gain in gains for value in range(256)])
    return photo.resize(SNAPSHOT_SIZE, Image.Resampling.BICUBIC), rng.randint(70, 85)


def snapshots(products: list[dict], rng: random.Random, out: Path) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of snapshots of product photos, the photos written under ``out/snapshots``."""
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    pictured = sorted((p for p in products if p["image"]), key=lambda p: p["id"])
    built = []
    for n, product in enumerate(rng.sample(pictured, COUNTS["snapshot"]), start=1):
        query_id = f"intent-snapshot-{n:04d}"
        with Image.open(DATA / product["image"]) as original:
            photo, quality = snapshot_photo(original.convert("RGB"), rng)
        photo.save(out / "snapshots" / f"{query_id}.jpg", quality=quality)
        query = {"id": query_id, "kind": "snapshot", "lang": "none", "text": "", "image": f"snapshots/{query_id}.jpg"}
        built.append((query, {product["id"]: 2}))
    return built


def typo(word: str, rng: random.Random) -> str | None:
    """``word`` with two adjacent letters after the first swapped (two that differ); None where none can be."""
    spots = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1] and word[i : i + 2].isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


class Titles:
    """The catalog's titles, to tell whether a run of words names one product only."""

    def __init__(self, products: list[dict]) -> None:
        self.forms = {p["id"]: self.spellings(p["title"]) for p in products}
        self.text = "\n".join(form for forms in self.forms.values() for form in forms)
        self.frequency = Counter(word for p in products for word in set(words(p["title"])))
        types = {word for p in products for word in words(p["article_type"])}
        self.generic = {word for p in products for word in words(p["colour"])} | types | {t[:-1] for t in types}

    @staticmethod
    def spellings(title: str) -> list[str]:
        """A title as one padded string, with and without its gender words."""
        tokens = words(title)
        return [f" {' '.join(tokens)} ", f" {' '.join(w for w in tokens if not is_audience(w))} "]

    def only(self, run: list[str], product_id: str) -> bool:
        """Whether no title but this product's holds the words ``run`` in a row."""
        needle = f" {' '.join(run)} "
        return self.text.count(needle) == sum(form.count(needle) for form in self.forms[product_id])

    def naming(self, tokens: list[str], brand: list[str]) -> set[str]:
        """A title's words that name its product: rare, and no brand, gender, colour or product-type word."""
        return {
            w
            for w in tokens
            if self.frequency[w] <= RARE_TITLES and w not in brand and w not in self.generic and not is_audience(w)
        }

    def partial(self, tokens: list[str], naming: set[str], product_id: str, length: int) -> list[str] | None:
        """The run of ``length`` words with the rarest words that holds a naming word and names this product only."""
        runs = [tokens[i : i + length] for i in range(len(tokens) - length + 1)]
        runs = [run for run in runs if naming & set(run) and self.only(run, product_id)]
        return min(runs, key=lambda run: sum(self.frequency[w] for w in run), default=None)


def known_item(products: list[dict], rng: random.Random) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of product names retyped, the four forms in turn, for titles with a naming word."""
    names = Counter(" ".join(words(p["title"])) for p in products)
    candidates = [p for p in products if len(words(p["title"])) >= 4 and names[" ".join(words(p["title"]))] == 1]
    titles = Titles(products)
    built: list[tuple[dict, dict[str, int]]] = []
    for product in rng.sample(candidates, len(candidates)):
        tokens, brand = words(product["title"]), brand_of(product["title"]).split()
        naming = titles.naming(tokens, brand)
        if not naming:
            continue
        form, run = len(built) % 4, None
        if form == 0 and brand and len(tokens) - len(brand) >= 3:
            run = tokens[len(brand) :]
        elif form == 1:
            lengths = [n for n in (3, 4, 5) if n < len(tokens)]
            run = titles.partial(tokens, naming, product["id"], rng.choice(lengths))
        elif form == 2:
            longest = max(range(len(tokens)), key=lambda i: len(tokens[i]))
            if slip := typo(tokens[longest], rng):
                run = tokens[:longest] + [slip] + tokens[longest + 1 :]
        elif form == 3 and brand:
            run = [w for w in tokens if not is_audience(w)]
        if run and (form == 2 or titles.only(run, product["id"])):
            built.append(({"kind": "known_item", "lang": "en", "text": " ".join(run)}, {product["id"]: 2}))
        if len(built) == COUNTS["known_item"]:
            break
    return built


def chinese_types(rows: list[dict]) -> dict[str, str]:
    """article type -> the Chinese words the dev Chinese queries use for it ("Backpacks" -> "双肩包")."""
    out: dict[str, str] = {}
    for row in rows:
        spec = row.get("spec") or {}
        if row["kind"] == "chinese" and spec.get("gender") and (match := CHINESE_QUERY.match(row["text"])):
            out.setdefault(spec["types"][0], match["type"])
    return out


def zh_brand(products: list[dict], types: dict[str, str], rng: random.Random) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of a brand and a product type in Chinese."""
    known = set(brands(products))
    pairs: Counter[tuple[str, str]] = Counter()
    for product in products:
        tokens = words(product["title"])
        for n in range(1, len(tokens) + 1):
            if " ".join(tokens[:n]) in known and product["article_type"] in types:
                pairs[(" ".join(tokens[:n]), product["article_type"])] += 1
    chosen = sorted(pair for pair, n in pairs.items() if n >= MIN_PRODUCTS)
    built = []
    for brand, kind in rng.sample(chosen, COUNTS["zh_brand"]):
        judgments = {p["id"]: 2 if starts_with(p["title"], brand) else 1 for p in products if p["article_type"] == kind}
        built.append(({"kind": "zh_brand", "lang": "zh", "text": f"{brand} {types[kind]}"}, judgments))
    return built


def spanish(colour: str, agreement: str) -> str:
    """A Spanish colour adjective agreeing with a noun ("negro", "fp" -> "negras")."""
    if colour in SPANISH_INVARIABLE:
        return colour
    if colour.endswith("o"):
        colour = colour[:-1] + ("a" if agreement.startswith("f") else "o")
    if not agreement.endswith("p"):
        return colour
    return colour + "s" if colour[-1] in "aeo" else colour.replace("ó", "o") + "es"


def french(colour: str, agreement: str) -> str:
    """A French colour adjective agreeing with a noun ("blanc", "fp" -> "blanches")."""
    if colour in FRENCH_INVARIABLE:
        return colour
    if agreement.startswith("f"):
        colour = FRENCH_FEMININE.get(colour, colour if colour.endswith("e") else colour + "e")
    return colour + "s" if agreement.endswith("p") and not colour.endswith("s") else colour


def phrase(lang: str, kind: str, colour: str, gender: str, n: int) -> str:
    """The query a shopper writing ``lang`` types for (type, colour, gender); German alternates two
    orders, the unseen Chinese words three, and take their type's and colour's words in turn."""
    if lang == "zh_unseen":
        noun = CHINESE_UNSEEN_TYPES[kind][n % len(CHINESE_UNSEEN_TYPES[kind])]
        hue = CHINESE_UNSEEN_COLOURS[colour][n % len(CHINESE_UNSEEN_COLOURS[colour])]
        audience = CHINESE_UNSEEN_AUDIENCE[gender][n % 3]
        return (f"{audience}{hue}{noun}", f"{hue}{noun} {audience}", f"{hue}{audience}{noun}")[n % 3]
    audience = AUDIENCE[lang][gender]
    if lang == "es":
        noun, agreement = SPANISH_TYPES[kind]
        return f"{noun} {spanish(SPANISH_COLOURS[colour], agreement)} {audience}"
    if lang == "fr":
        noun, agreement = FRENCH_TYPES[kind]
        return f"{noun} {french(FRENCH_COLOURS[colour], agreement)} {audience}"
    if lang == "de":
        (noun, gender_of_noun), (after, stem) = GERMAN_TYPES[kind], GERMAN_COLOURS[colour]
        if stem and n % 2 == 0:
            return f"{stem}{GERMAN_ENDINGS[gender_of_noun]} {audience} {noun}"
        return f"{audience} {noun} {after}"
    return f"{audience} {JAPANESE_COLOURS[colour]} {JAPANESE_TYPES[kind]}"


def unseen_words(rows: list[dict]) -> None:
    """Fails where a word of the unseen tables is a colour, gender or type word of a dev Chinese query
    (it would not be unseen; a word may be part of one, as 黑 is of 黑色)."""
    dev = {
        word
        for row in rows
        if row["kind"] == "chinese" and (m := CHINESE_QUERY.match(row["text"]))
        for word in m.groups()
    }
    tables = (CHINESE_UNSEEN_TYPES, CHINESE_UNSEEN_COLOURS, CHINESE_UNSEEN_AUDIENCE)
    seen = {word for table in tables for words in table.values() for word in words if word in dev}
    if seen:
        raise SystemExit(f"words of the unseen Chinese tables in dev Chinese queries: {sorted(seen)}")


def graded(products: list[dict], kind: str, colour: str, gender: str) -> dict[str, int]:
    """product id -> grade as the dev set judges (type, colour, gender): 2 all fit, 1 one of the two off."""
    out = {}
    for product in products:
        if product["article_type"] == kind:
            misses = (product["colour"] != colour) + (product["gender"] not in (gender, "Unisex"))
            if misses <= 1:
                out[product["id"]] = 2 - misses
    return out


def languages(
    products: list[dict], rng: random.Random, tables: dict[str, Mapping[str, object]]
) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of "<colour> <gender> <type>" in each language of ``tables`` (its types):
    Spanish, French, German, Japanese, or the unseen Chinese words (kind ``zh_unseen``)."""
    specs = Counter(
        (p["article_type"], p["colour"], gender)
        for p in products
        for gender in GENDERS
        if p["gender"] in (gender, "Unisex") and p["colour"] in SPANISH_COLOURS
    )
    built = []
    for lang, types in tables.items():
        chosen = sorted(spec for spec, n in specs.items() if n >= MIN_PRODUCTS and spec[0] in types)
        for n, (kind, colour, gender) in enumerate(rng.sample(chosen, COUNTS["language"])):
            text = phrase(lang, kind, colour, gender, n)
            query = {"kind": lang, "lang": "zh" if lang == "zh_unseen" else lang, "text": text}
            built.append((query, graded(products, kind, colour, gender)))
    return built


def traditional(text: str) -> str:
    """Simplified Chinese in traditional characters; characters the map lacks are printed and kept."""
    missing = {c for c in text if c not in TRADITIONAL and c not in SAME and not c.isascii()}
    if missing:
        print(f"no traditional form for {''.join(sorted(missing))} in {text!r}")
    return "".join(TRADITIONAL.get(c, c) for c in text)


def zh_hant(
    rows: list[dict], dev_qrels: dict[str, dict[str, int]], rng: random.Random
) -> list[tuple[dict, dict[str, int]]]:
    """(query, judgments) of dev Chinese queries in traditional characters, with their judgments."""
    sources = [row for row in rows if row["kind"] == "chinese" and 2 in dev_qrels.get(row["id"], {}).values()]
    chosen = rng.sample(sources, COUNTS["language"])
    return [
        ({"kind": "zh_hant", "lang": "zh-Hant", "text": traditional(row["text"])}, dev_qrels[row["id"]])
        for row in chosen
    ]


def numbered(built: list[tuple[dict, dict[str, int]]]) -> list[tuple[dict, dict[str, int]]]:
    """The queries with ids ("intent-brand-alone-0001", counted per kind) first; ones with ids kept."""
    seen: Counter[str] = Counter()
    out = []
    for query, judgments in built:
        seen[query["kind"]] += 1
        query_id = query.get("id") or f"intent-{query['kind'].replace('_', '-')}-{seen[query['kind']]:04d}"
        out.append(({"id": query_id} | {key: value for key, value in query.items() if key != "id"}, judgments))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Settings().judgments_root / "intents")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, products, dev_qrels = dev_data()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    built = brand_alone(products, rng)
    built += snapshots(products, rng, args.out)
    built += known_item(products, rng)
    built += zh_brand(products, chinese_types(rows), rng)
    built += languages(
        products, rng, {"es": SPANISH_TYPES, "fr": FRENCH_TYPES, "de": GERMAN_TYPES, "ja": JAPANESE_TYPES}
    )
    built += zh_hant(rows, dev_qrels, rng)
    unseen_words(rows)
    built += languages(products, rng, {"zh_unseen": CHINESE_UNSEEN_TYPES})
    built = numbered([(query, judgments) for query, judgments in built if 2 in judgments.values()])
    with (args.out / "queries-intents.jsonl").open("w") as queries, (args.out / "qrels-intents.tsv").open("w") as out:
        for query, judgments in built:
            queries.write(json.dumps(query, ensure_ascii=False) + "\n")
            for product_id, grade in judgments.items():
                out.write(f"{query['id']}\t{product_id}\t{grade}\n")
    print(f"{dict(Counter(query['kind'] for query, _ in built))} queries written to {args.out}")


if __name__ == "__main__":
    main()
