"""The most frequent Chinese characters, in simplified and traditional form.

Used only to break ties when a very short file reads as common characters in both GBK and Big5.
A wrong decoding yields essentially random characters, which are rarely among the top few hundred.
"""

from __future__ import annotations

# About 300 of the most frequent characters in modern written Chinese (simplified), most frequent first.
_TOP_SIMPLIFIED = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里"
    "后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动"
    "两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几"
    "很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五"
    "太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反"
    "合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统"
    "色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留"
    "红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄"
    "德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音际则首单据导影失拿网香似斯专石"
    "若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴按线尔府随号居罗低药须拉"
)

# Simplified -> traditional for the characters above whose traditional form differs.
_TO_TRADITIONAL = dict(
    pair
    for pair in zip(
        "这个们来为国说时会着过学对里后么没于还发当无开见经头从动两长样现将与进实点种声话儿问机给几业间电门"
        "东听气关并军产万体别处总场师书员华报马张难数应车亲务边风战干许觉统请爱让认论义术结条变联权该领传红"
        "决达办运区转众轻语满写识极黄脸钱党设历双广议际则单据导网专谁读飞观争组视济离虽坏兴线随号罗药须资队"
        "远连带计记题尔",
        "這個們來為國說時會著過學對裡後麼沒於還發當無開見經頭從動兩長樣現將與進實點種聲話兒問機給幾業間電門"
        "東聽氣關並軍產萬體別處總場師書員華報馬張難數應車親務邊風戰幹許覺統請愛讓認論義術結條變聯權該領傳紅"
        "決達辦運區轉眾輕語滿寫識極黃臉錢黨設歷雙廣議際則單據導網專誰讀飛觀爭組視濟離雖壞興線隨號羅藥須資隊"
        "遠連帶計記題爾",
        strict=True,
    )
)

TOP_SIMPLIFIED = frozenset(_TOP_SIMPLIFIED)
TOP_TRADITIONAL = frozenset(_TO_TRADITIONAL.get(ch, ch) for ch in _TOP_SIMPLIFIED) | {"裏", "里", "臺"}
