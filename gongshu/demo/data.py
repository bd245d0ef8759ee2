"""The demo city: 临沂市 (371300), its twelve districts and counties, its public bodies, one
account for every role, and a catalog of real-sounding entries (in ``gongshu.demo.entries``).

Everything here is plain data; ``gongshu.demo.loader`` creates it through the services in the
order it is listed, so two loads on two fresh databases give the same catalog. Browser tests
import ``DEMO_PASSWORD`` and ``DEMO_ACCOUNTS`` to sign in.

The Chinese text is demo content, not interface text, and needs no translation.
"""

from __future__ import annotations

from gongshu.auth.models import Role
from gongshu.demo.entries import ENTRIES
from gongshu.demo.specs import (
    AgencySpec,
    DemoAccount,
    UserSpec,
)
from gongshu.orgs import regions
from gongshu.orgs.models import AgencyKind

__all__ = [
    "AGENCIES",
    "CITY",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "DEMO_URL",
    "DISTRICTS",
    "ENTRIES",
    "USERS",
    "agency_by_key",
]

# One password for every demo account: 12 characters, four character classes.
DEMO_PASSWORD = "Gongshu@2026"  # noqa: S105 — a documented demo password
DEMO_URL = "http://127.0.0.1:8000"

# 临沂市 and its three districts and nine counties (GB/T 2260), shared with the orgs area.
CITY = regions.CITY
DISTRICTS = regions.DISTRICTS

_C = CITY.code
_GOV = AgencyKind.GOVERNMENT
_INST = AgencyKind.INSTITUTION
_ENT = AgencyKind.ENTERPRISE

AGENCIES: tuple[AgencySpec, ...] = (
    # ---- the city's big-data bureau first: it coordinates everyone else
    AgencySpec(
        "dsj",
        "临沂市大数据局",
        "市大数据局",
        _C,
        _GOV,
        "数据管理",
        "统筹全市公共数据资源管理，负责公共数据资源目录编制指导、共享交换、开放利用"
        "和安全监管，建设运维市大数据平台。",
        "临沂市兰山区北京路17号市政务服务中心5楼",
        "0539-8721301",
        "孙立群",
    ),
    AgencySpec(
        "scj",
        "临沂市市场监督管理局",
        "市市场监管局",
        _C,
        _GOV,
        "市场监管",
        "负责市场主体登记注册、食品药品和特种设备安全监管、质量与标准计量、"
        "知识产权和消费者权益保护等工作。",
        "临沂市兰山区沂蒙路与北京路交汇处西200米",
        "0539-8721512",
        "王静",
    ),
    AgencySpec(
        "wjw",
        "临沂市卫生健康委员会",
        "市卫生健康委",
        _C,
        _GOV,
        "卫生健康",
        "负责全市医疗卫生机构监管、疾病预防控制、妇幼健康、基层卫生和全民健康信息化建设。",
        "临沂市兰山区沂蒙路266号",
        "0539-8721606",
        "刘海燕",
    ),
    AgencySpec(
        "zrzy",
        "临沂市自然资源和规划局",
        "市自然资源和规划局",
        _C,
        _GOV,
        "自然资源",
        "负责国土空间规划、不动产统一登记、土地供应与耕地保护、测绘地理信息和地质灾害防治。",
        "临沂市兰山区北京路与上海路交汇处自然资源大厦",
        "0539-8721702",
        "张伟东",
    ),
    AgencySpec(
        "sthj",
        "临沂市生态环境局",
        "市生态环境局",
        _C,
        _GOV,
        "生态环境",
        "负责大气、水、土壤污染防治，环境质量监测与信息发布，排污许可和环境影响评价审批。",
        "临沂市兰山区金雀山路18号",
        "0539-8721816",
        "李晓峰",
    ),
    AgencySpec(
        "rsj",
        "临沂市人力资源和社会保障局",
        "市人力资源社会保障局",
        _C,
        _GOV,
        "就业",
        "负责就业创业服务、社会保险、职业技能培训评价、人才引进和劳动关系协调。",
        "临沂市兰山区北京路12号",
        "0539-8721903",
        "陈思远",
    ),
    AgencySpec(
        "jyj",
        "临沂市教育局",
        "市教育局",
        _C,
        _GOV,
        "教育",
        "负责全市各级各类教育的统筹管理，义务教育招生入学、学籍管理和民办教育监管。",
        "临沂市兰山区沂蒙路与北京路交汇处东100米",
        "0539-8722011",
        "赵雅琴",
    ),
    AgencySpec(
        "jtj",
        "临沂市交通运输局",
        "市交通运输局",
        _C,
        _GOV,
        "交通",
        "负责公路、水路运输和城市公共交通的行业管理，道路运输许可和交通运输信息化。",
        "临沂市兰山区通达路与南京路交汇处",
        "0539-8722105",
        "周建国",
    ),
    AgencySpec(
        "qxj",
        "临沂市气象局",
        "市气象局",
        _C,
        _INST,
        "气象",
        "承担全市气象观测、天气预报预警、气候监测评估和人工影响天气工作，"
        "实行上级气象主管机构与地方政府双重领导。",
        "临沂市兰山区孝河路与涑河北街交汇处",
        "0539-8722218",
        "吴晓燕",
    ),
    AgencySpec(
        "gaj",
        "临沂市公安局",
        "市公安局",
        _C,
        _GOV,
        "公共安全",
        "负责户籍和居民身份证管理、治安管理、道路交通安全管理和机动车驾驶人管理。",
        "临沂市兰山区北京路与沂河路交汇处",
        "0539-8722301",
        "郑国强",
    ),
    AgencySpec(
        "mzj",
        "临沂市民政局",
        "市民政局",
        _C,
        _GOV,
        "民政",
        "负责社会救助、养老服务、婚姻登记、社会组织登记管理、区划地名和殡葬管理。",
        "临沂市兰山区沂州路与金雀山路交汇处",
        "0539-8722412",
        "何美玲",
    ),
    AgencySpec(
        "zjj",
        "临沂市住房和城乡建设局",
        "市住房城乡建设局",
        _C,
        _GOV,
        "城乡建设",
        "负责房地产市场监管、住房保障、建筑业管理、施工许可和城市建设工程质量安全监督。",
        "临沂市兰山区北京路与智圣路交汇处",
        "0539-8722509",
        "马晓东",
    ),
    AgencySpec(
        "ybj",
        "临沂市医疗保障局",
        "市医保局",
        _C,
        _GOV,
        "医疗保障",
        "负责基本医疗保险和生育保险管理、医保基金监管、医药价格和招标采购、定点医药机构管理。",
        "临沂市兰山区北京路与沂蒙路交汇处西100米",
        "0539-8722617",
        "黄丽娟",
    ),
    AgencySpec(
        "xzsp",
        "临沂市行政审批服务局",
        "市行政审批服务局",
        _C,
        _GOV,
        "政务服务",
        "集中行使市级行政许可事项，负责企业开办、工程建设项目审批和市政务服务中心运行管理。",
        "临沂市兰山区北京路17号市政务服务中心",
        "0539-8722708",
        "林志刚",
    ),
    AgencySpec(
        "sw",
        "国家税务总局临沂市税务局",
        "市税务局",
        _C,
        _GOV,
        "税务",
        "负责全市税收、社会保险费和有关非税收入征收管理，纳税服务和纳税信用评价。",
        "临沂市兰山区沂蒙路与柳青河路交汇处",
        "0539-8722816",
        "罗文斌",
    ),
    AgencySpec(
        "nync",
        "临沂市农业农村局",
        "市农业农村局",
        _C,
        _GOV,
        "农业农村",
        "负责种植业、畜牧兽医、农产品质量安全监管、农业补贴发放和新型农业经营主体培育。",
        "临沂市兰山区沂州路与北京路交汇处",
        "0539-8722903",
        "高振华",
    ),
    AgencySpec(
        "whly",
        "临沂市文化和旅游局",
        "市文化和旅游局",
        _C,
        _GOV,
        "文化旅游",
        "负责文化事业、旅游景区质量等级评定、旅行社和文化市场管理、公共文化服务。",
        "临沂市兰山区沂蒙路与金雀山路交汇处",
        "0539-8723011",
        "梁秀英",
    ),
    AgencySpec(
        "yjj",
        "临沂市应急管理局",
        "市应急管理局",
        _C,
        _GOV,
        "应急管理",
        "负责安全生产综合监管、危险化学品安全监管、自然灾害防治和应急救援指挥协调。",
        "临沂市兰山区北京路与蒙山大道交汇处",
        "0539-8723102",
        "宋明亮",
    ),
    AgencySpec(
        "tjj",
        "临沂市统计局",
        "市统计局",
        _C,
        _GOV,
        "统计",
        "负责国民经济核算、统计调查和统计数据发布，组织实施人口、经济和农业普查。",
        "临沂市兰山区北京路与沂蒙路交汇处市行政中心",
        "0539-8723216",
        "唐丽华",
    ),
    AgencySpec(
        "slj",
        "临沂市水利局",
        "市水利局",
        _C,
        _GOV,
        "水利",
        "负责水资源管理、取水许可、水利工程建设运行、河湖长制和水旱灾害防御。",
        "临沂市兰山区沂州路与涑河北街交汇处",
        "0539-8723308",
        "许长河",
    ),
    AgencySpec(
        "cgj",
        "临沂市城市管理局",
        "市城市管理局",
        _C,
        _GOV,
        "城市管理",
        "负责市容环境卫生、城市道路停车、户外广告管理、数字化城市管理和城管综合执法。",
        "临沂市兰山区通达路与启阳路交汇处",
        "0539-8723415",
        "韩冬梅",
    ),
    # ---- public institutions (事业单位)
    AgencySpec(
        "jkzx",
        "临沂市疾病预防控制中心",
        "市疾控中心",
        _C,
        _INST,
        "卫生健康",
        "承担全市传染病和慢性病监测、免疫规划、病媒生物监测和突发公共卫生事件处置技术支持。",
        "临沂市兰山区金雀山路与沂州路交汇处",
        "0539-8723509",
        "冯晓光",
    ),
    AgencySpec(
        "gjj",
        "临沂市住房公积金管理中心",
        "市公积金中心",
        _C,
        _INST,
        "住房保障",
        "负责全市住房公积金归集、提取、贷款和资金管理，编制住房公积金年度报告。",
        "临沂市兰山区北京路与涑河南街交汇处",
        "0539-8723612",
        "董文静",
    ),
    AgencySpec(
        "rmyy",
        "临沂市人民医院",
        "市人民医院",
        _C,
        _INST,
        "卫生健康",
        "三级甲等综合医院，承担全市急危重症救治、医学教学科研和区域医疗中心建设任务。",
        "临沂市兰山区解放路东段27号",
        "0539-8078114",
        "袁志明",
    ),
    # ---- public-service enterprises (公共服务企业)
    AgencySpec(
        "zls",
        "临沂市自来水公司",
        "市自来水公司",
        _C,
        _ENT,
        "供水",
        "负责中心城区城市供水生产、管网建设运维、水质检测公示和用水户服务。",
        "临沂市兰山区启阳路与涑河南街交汇处",
        "0539-8723713",
        "邓建华",
    ),
    AgencySpec(
        "gdgs",
        "国网山东省电力公司临沂供电公司",
        "国网临沂供电公司",
        _C,
        _ENT,
        "供电",
        "负责全市电网规划建设、安全运行和电力供应服务，发布计划停电信息。",
        "临沂市兰山区沂蒙路与金雀山路交汇处电力大厦",
        "0539-8723895",
        "曹立新",
    ),
    AgencySpec(
        "gjjt",
        "临沂市公共交通集团有限公司",
        "临沂公交集团",
        _C,
        _ENT,
        "交通",
        "负责中心城区公交线路运营、公交站点和场站设施管理、公交一卡通服务。",
        "临沂市兰山区通达路与金雀山路交汇处",
        "0539-8723906",
        "彭海涛",
    ),
    # ---- district and county bodies
    AgencySpec(
        "lanshan_dsj",
        "兰山区大数据局",
        "兰山区大数据局",
        "371302",
        _GOV,
        "数据管理",
        "负责兰山区公共数据资源目录审核、数据汇聚共享和区级政务信息化项目统筹。",
        "临沂市兰山区金雀山路118号兰山区政务服务中心",
        "0539-8101208",
        "田晓雯",
    ),
    AgencySpec(
        "lanshan_scj",
        "兰山区市场监督管理局",
        "兰山区市场监管局",
        "371302",
        _GOV,
        "市场监管",
        "负责兰山区个体工商户和企业登记、食品安全日常监管、农贸市场快检和消费维权。",
        "临沂市兰山区银雀山路与沂州路交汇处",
        "0539-8101516",
        "潘玉洁",
    ),
    AgencySpec(
        "luozhuang_jyj",
        "罗庄区教育和体育局",
        "罗庄区教体局",
        "371311",
        _GOV,
        "教育",
        "负责罗庄区学前教育、义务教育、学校体育和学生资助工作。",
        "临沂市罗庄区罗七路与沂河路交汇处",
        "0539-8201305",
        "蒋红梅",
    ),
    AgencySpec(
        "hedong_sthj",
        "临沂市生态环境局河东分局",
        "河东生态环境分局",
        "371312",
        _GOV,
        "生态环境",
        "负责河东区大气、水环境日常监管，扬尘在线监测和入河排污口排查整治。",
        "临沂市河东区人民大街与东兴路交汇处",
        "0539-8381412",
        "谢晓东",
    ),
    AgencySpec(
        "tancheng_nync",
        "郯城县农业农村局",
        "郯城县农业农村局",
        "371322",
        _GOV,
        "农业农村",
        "负责郯城县银杏等特色产业发展、农业社会化服务和耕地质量保护。",
        "临沂市郯城县人民路与郯东路交汇处",
        "0539-6221603",
        "邹金平",
    ),
    AgencySpec(
        "yishui_zrzy",
        "沂水县自然资源和规划局",
        "沂水县自然资源和规划局",
        "371323",
        _GOV,
        "自然资源",
        "负责沂水县不动产登记、农村宅基地确权、矿产资源管理和地质灾害防治。",
        "临沂市沂水县长安路与沂河路交汇处",
        "0539-2251708",
        "石春雨",
    ),
    AgencySpec(
        "feixian_wjj",
        "费县卫生健康局",
        "费县卫生健康局",
        "371325",
        _GOV,
        "卫生健康",
        "负责费县基层医疗卫生机构管理、家庭医生签约服务和妇幼健康管理。",
        "临沂市费县建设路与南京路交汇处",
        "0539-5011806",
        "姚丽君",
    ),
)


def agency_by_key(key: str) -> AgencySpec:
    """The agency spec with this key (``KeyError`` if there is none)."""
    for spec in AGENCIES:
        if spec.key == key:
            return spec
    raise KeyError(key)


_OFFICERS: tuple[UserSpec, ...] = tuple(
    UserSpec(
        spec.officer_username,
        spec.officer_name,
        Role.AGENCY_OFFICER,
        spec.key,
        spec.region_code,
        f"{spec.short_name}数据专管员：编制、维护本单位公共数据资源目录",
    )
    for spec in AGENCIES
)

USERS: tuple[UserSpec, ...] = (
    UserSpec(
        "bureau",
        "孟庆华",
        Role.BUREAU_ADMIN,
        "dsj",
        _C,
        "市大数据局目录管理员：审核全市目录，管理单位和用户",
    ),
    UserSpec(
        "lanshan_bureau",
        "曲晓敏",
        Role.BUREAU_ADMIN,
        "lanshan_dsj",
        "371302",
        "兰山区大数据局管理员：审核兰山区目录，管理区内单位和用户",
    ),
    *_OFFICERS,
    UserSpec(
        "ybj_consumer",
        "付晓伟",
        Role.AGENCY_CONSUMER,
        "ybj",
        _C,
        "市医保局数据使用人员：申请使用人口、市场主体等共享数据",
    ),
    UserSpec(
        "lanshan_consumer",
        "秦玉兰",
        Role.AGENCY_CONSUMER,
        "lanshan_scj",
        "371302",
        "兰山区市场监管局数据使用人员：申请使用市级共享数据",
    ),
    UserSpec(
        "citizen",
        "张明",
        Role.PUBLIC,
        None,
        _C,
        "社会公众：浏览开放目录，下载数据，提出数据需求和异议",
    ),
    UserSpec(
        "company",
        "沂蒙数科（临沂）有限公司",
        Role.PUBLIC,
        None,
        _C,
        "企业用户：申请有条件开放数据，提交数据利用成果",
    ),
    UserSpec(
        "operator",
        "临沂数据运营有限公司",
        Role.OPERATOR,
        None,
        _C,
        "授权运营方：在沙箱中加工被授权的数据",
    ),
    UserSpec(
        "auditor",
        "韦淑芬",
        Role.AUDITOR,
        "dsj",
        _C,
        "安全监管员：查阅审计链和告警，校验审计链完整性",
    ),
    UserSpec(
        "sysadmin",
        "钱国栋",
        Role.SYSTEM_ADMIN,
        "dsj",
        _C,
        "系统管理员（三员之一）：管理区划、单位和账号",
    ),
    UserSpec(
        "secadmin",
        "严晓宁",
        Role.SECURITY_ADMIN,
        "dsj",
        _C,
        "安全保密管理员（三员之一）：分配角色，解锁账号，管理接口密钥",
    ),
    UserSpec(
        "auditadmin",
        "施文华",
        Role.AUDIT_ADMIN,
        "dsj",
        _C,
        "安全审计员（三员之一）：审计其他管理员和用户的操作",
    ),
)

DEMO_ACCOUNTS: tuple[DemoAccount, ...] = tuple(
    DemoAccount(
        user.username,
        user.role,
        agency_by_key(user.agency).name if user.agency else None,
        user.description,
    )
    for user in USERS
)


# The registry: each entry's source system becomes a system named after it, with a
# construction project of that name plus this suffix.
PROJECT_SUFFIX = "建设项目"

# Two systems of the bureau's own that produce no catalog entry yet: the registry flags the
# running one as 未编目 (seed 001 §42), the planned one is not flagged.
UNCATALOGED_SYSTEMS = (
    ("dsj", "临沂市数字孪生城市试点平台", "running", "临沂市新型智慧城市建设项目（二期）"),
    ("dsj", "临沂市公共数据授权运营平台", "planned", "临沂市公共数据授权运营试点项目"),
)
