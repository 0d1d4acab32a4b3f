"""Bridging the words people ask with and the words documents are written in, for full-text search.

People ask about their own situation in everyday Chinese (房东扣着钱不退, 老板让我周六干活); regulations,
contracts and manuals say the same in written, formal terms (出租人 / 押金 / 退还, 用人单位 / 加班). An
English-only embedder cannot bridge that for Chinese, so full-text search gets two kinds of help:

- ``register_terms``: a thesaurus from everyday words to the formal terms documents use for them
  (口语 -> 书面语). It is general vocabulary of employment, housing, money, health, family and appliances,
  not a list made for particular documents (though the last entries were chosen from the development
  questions that were still missed: see the held-out figures in the README); the extra terms are
  searched in the same full-text query with a lighter boost, so a wrong guess costs little.
- ``feedback_terms``: pseudo-relevance feedback — the words that mark the best few results of a first
  search and are rare among the other candidates, searched as a lighter ranking too.

Each was kept only because it raised hit@10 on the development sets (benchmarks/eval_retrieval.py, README).
"""

from __future__ import annotations

import math
from collections import Counter

_REGISTER = """
钱 费用 金额 款项
工资 薪酬 工资
薪水 薪酬 工资
发工资 工资 支付
老板 公司 用人单位
单位 用人单位
领导 负责人 主管
跳槽 辞职 离职 解除劳动合同
辞职 离职 解除劳动合同 书面通知
不干了 离职 辞职
开除 解除劳动合同 辞退
炒鱿鱼 辞退 解除劳动合同
转正 试用期 转正
上班 工作 出勤
迟到 迟到 考勤
打卡 考勤 打卡
加班 加班 加班费
周末 休息日 双休日
过节 法定节假日
放假 假期 休假
请假 休假 请假 假期
结婚 婚假
生孩子 生育 产假
怀孕 孕期 生育
老婆 配偶
老公 配偶
媳妇 配偶
爱人 配偶
孩子 子女
小孩 子女 儿童
爸妈 父母
父母 父母
爷爷 祖父母
奶奶 祖父母
走了 去世 丧假
去世 丧假 死亡
生病 患病 疾病 病假
看病 就医 医疗 门诊
住院 住院 医疗
受伤 工伤 伤害
体检 体检 健康检查
出差 差旅 出差
路费 交通 交通费
打车 交通 出租车
住酒店 住宿 住宿费
酒店 住宿 住宿费
吃饭 餐饮 伙食 餐费
话费 通讯 通信
补助 补贴 津贴
奖金 奖金 绩效
报销 报销 凭证 发票
罚钱 罚款 扣款 违约金
扣钱 扣款 扣除
赔钱 赔偿 损失
赔 赔偿 承担
退钱 退还 返还 退款
还我 退还 返还
房东 甲方 出租人 出租方
租客 乙方 承租人 承租方
租房 租赁 承租
房租 租金
押金 押金 保证金
涨价 上涨 调整 上调
涨租 租金 调整 上涨
续租 续租 续签 期满
到期 期满 届满 到期
搬走 退租 迁出 交还
搬出去 退租 迁出
提前走 提前解除 提前退租
卖房 出售
卖掉 出售
转租 转租 分租
水电 水费 电费 燃气费
网费 宽带 网络
坏了 故障 损坏 维修
修 维修 修理
漏水 渗漏 漏水
装修 装饰装修 装修
吵 噪音 噪声
邻居 相邻 业主
小区 物业 住宅区
物业费 物业服务费
停车 车位 停放 停车
车 车辆 机动车
狗 犬 宠物
猫 宠物
扔 丢弃 清运 垃圾
垃圾 垃圾 清运
电梯 电梯 公共设施
钥匙 门禁 钥匙
卡丢了 挂失 补办
丢了 遗失 挂失 补办
补办 补办 工本费
刷卡 消费 交易
还钱 还款
晚还 逾期 还款
拖 逾期 延迟
利息 利息 费率
分期 分期 手续费
年费 年费
额度 额度 信用额度
取钱 取现 提取
取现 取现 预借现金
出国 境外 外币
国外 境外 外币
积分 积分 兑换
销户 注销 销户
密码 密码 验证
社保 社会保险
医保 医疗保险
公积金 住房公积金
退休 退休 养老 养老金
失业 失业 失业保险
怎么交 缴纳 缴费
交多少 缴纳 缴费 标准
多久 期限 日内
几天 天数 日内
几号 日期 每月
每个月 每月 按月
一年 每年 年度
多少钱 费用 标准 金额
免费 免费 无偿
臭味 异味 清洁
洗衣服 洗涤 衣物
衣服 衣物
洗不干净 洗净 洗涤效果
响 噪音 异响
不转 不运转 故障
门打不开 门锁 开门
没电 断电 电源
打到卡 转账 发放 支付
热 高温 防暑
外面 户外 室外
工地 户外 现场
胸牌 工牌 工作证
掏钱 费用 承担
自己出钱 自行承担 费用
重新做 补办 重新办理
家里没人 空置 无人
留意 关注 巡查
照看 关注 看管
往后推 延迟 推迟 预约
推迟 延迟 推迟 预约
销掉 注销
能退 退还 返还
罚 罚款 违约金 滞纳金
慢慢还 分期 还款
没印象 争议 异议 未授权
不认识 争议 异议
介绍 推荐
好处 奖励 积分 奖金
"""


def _load(text: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in text.strip().splitlines():
        word, *formal = line.split()
        table[word] = [f for f in formal if f != word] or formal
    return table


REGISTER = _load(_REGISTER)
_KEYS = sorted(REGISTER, key=len, reverse=True)


def register_terms(query: str) -> list[str]:
    """Formal terms for the everyday words in ``query`` that it does not already contain."""
    found: list[str] = []
    rest = query
    for word in _KEYS:
        if word in rest:
            rest = rest.replace(word, " ")  # 房东 is not also read as 东
            found += [t for t in REGISTER[word] if t not in query and t not in found]
    return found


def feedback_terms(top: list[list[str]], pool: list[list[str]], query_terms: set[str], count: int = 8) -> list[str]:
    """Terms frequent in the ``top`` results' tokens and rare in the ``pool`` of all candidates (tf-idf
    within the candidates: the index's own document frequencies are not exposed), minus the query's own."""
    if not top or len(pool) < 2:
        return []
    df = Counter(term for tokens in pool for term in set(tokens))
    tf = Counter(term for tokens in top for term in tokens)
    n = len(pool)
    scored = {t: c * math.log(n / df[t]) for t, c in tf.items()
              if t not in query_terms and df[t] < n and len(t) > 1}
    return [t for t, _ in sorted(scored.items(), key=lambda kv: -kv[1])[:count]]
