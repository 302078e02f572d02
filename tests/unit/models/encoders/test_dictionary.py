from hybrid_search.models.encoders.dictionary import Dictionary, load_dictionary

LINES = [
    "# CC-CEDICT",
    "雙肩包 双肩包 [shuang1 jian1 bao1] /backpack/",
    "黑色 黑色 [hei1 se4] /black/",
    "白色 白色 [bai2 se4] /white/fig. reactionary/anti-communist/",
    "內褲 内裤 [nei4 ku4] /underpants/panties/briefs/",
    "夾克 夹克 [jia2 ke4] /jacket (loanword)/also pr. [jia1 ke4]/",
    "男士 男士 [nan2 shi4] /man/gentleman/",
    "男 男 [nan2] /male/Male/",
    "士 士 [shi4] /member of the senior ministerial class (old)/scholar (old)/",
    "手提包 手提包 [shou3 ti2 bao1] /(hand)bag/hold-all/",
    "T恤 T恤 [T xu4] /T-shirt/",
    "米 米 [Mi3] /surname Mi/",
    "米 米 [mi3] /rice/CL:粒[li4]/meter (classifier)/",
    "金 金 [Jin1] /surname Jin/Jurchen Jin dynasty (1115-1234)/",
    "金 金 [jin1] /gold/golden/",
    "深藍 深蓝 [Shen1 lan2] /Deep Blue, chess-playing computer/",
    "深藍 深蓝 [shen1 lan2] /dark blue/",
    "耐克 耐克 [Nai4 ke4] /Nike (brand)/",
    "表 表 [biao3] /exterior surface/a table (listing information)/",
    "錶 表 [biao3] /wrist or pocket watch/",
    "褲 裤 [ku4] /underpants/trousers/pants/",
    "手 手 [shou3] /hand/(formal) to hold/person engaged in certain types of work/",
    "毛衣 毛衣 [mao2 yi1] /(wool) sweater/CL:件[jian4]/",
]
DICT = Dictionary.from_cedict_lines(LINES)


def test_forward_maximum_matching_prefers_the_longest_word():
    assert DICT.segment("黑色男士双肩包") == ["黑色", "男士", "双肩包"]
    assert DICT.segment("男包") == ["男", "包"]  # 包 is unknown: a word of its own


def test_translation_glosses_words_and_keeps_other_text():
    assert DICT.translate("黑色男士双肩包") == "black man gentleman backpack"
    assert DICT.translate("Nike 手提包") == "Nike handbag hold-all"
    assert DICT.translate("粉色T恤") == "T-shirt"  # unknown 粉色 dropped; T恤 kept whole
    assert DICT.translate("plain english") == "plain english"


def test_senses_skip_surnames_and_measure_words_and_single_characters_keep_one():
    assert DICT.entries["米"] == ("rice", "meter")
    assert DICT.translate("米") == "rice"


def test_catalog_words_choose_the_senses_after_the_first():
    catalog = {"white", "black", "briefs", "man"}.__contains__
    assert DICT.translate("白色男士内裤") == "white fig. reactionary man gentleman underpants panties"
    # the first sense, then only senses naming a catalog word: the third sense of 内裤 comes up
    assert DICT.translate("白色男士内裤", catalog) == "white man underpants briefs"
    assert DICT.translate("夹克") == "jacket"  # a pronunciation note is no sense


def test_a_character_alone_keeps_the_senses_that_name_catalog_words_as_words_do():
    catalog = {"trousers", "watch", "formal", "sweater", "wool"}.__contains__
    # a compound the dictionary lacks (沙滩裤, 腕表) falls apart into characters: their heads still name types
    assert DICT.translate("裤", catalog) == "underpants trousers"
    assert DICT.translate("表", catalog) == "exterior surface wrist or pocket watch"
    assert DICT.translate("米", catalog) == "rice"  # no other sense names a catalog word
    assert DICT.translate("米") == "rice"  # without the catalog's words, a character keeps its first sense
    # a sense's leading label is none of its words: "(formal) to hold" names no catalog usage
    assert DICT.entries["手"] == ("hand", "hold", "person engaged in certain types of work")
    assert DICT.translate("手", catalog) == "hand"
    assert DICT.entries["毛衣"] == ("sweater",)


def test_packaged_cc_cedict_translates_real_queries():
    cedict = load_dictionary("cedict")
    assert len(cedict.entries) > 100_000
    assert cedict.translate("棕色女士钱包").split()[:3] == ["brown", "lady", "madam"]
    assert load_dictionary("none") is None


def test_a_name_reads_only_where_the_word_is_nothing_else():
    assert DICT.entries["金"] == ("gold", "golden")  # not the Jin dynasty
    assert DICT.entries["深蓝"] == ("dark blue",)  # not the chess computer
    assert DICT.entries["耐克"] == ("Nike",)  # a brand and nothing else
    assert DICT.entries["表"] == ("exterior surface", "a table", "wrist or pocket watch")  # both readings
    assert DICT.translate("金深蓝") == "gold dark blue"  # one sense for one character
