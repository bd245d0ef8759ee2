"""Chinese display names of the domain's coded values, translated on display."""

from __future__ import annotations

import enum

from gongshu.i18n import translate

LABELS: dict[str, str] = {
    # roles
    "bureau_admin": "大数据主管部门管理员",
    "agency_officer": "数据专管员",
    "agency_consumer": "数据使用部门",
    "public": "公众用户",
    "operator": "授权运营方",
    "auditor": "安全监管员",
    "system_admin": "系统管理员",
    "security_admin": "安全保密管理员",
    "audit_admin": "安全审计员",
    # regions and agencies
    "city": "市级",
    "district": "区县",
    "government": "行政机关",
    "institution": "事业单位",
    "enterprise": "公共服务企业",
    # catalog classification
    "base": "基础信息资源",
    "theme": "主题信息资源",
    "department": "部门信息资源",
    # share and open types share their values; the context (column) tells which
    "unconditional": "无条件",
    "conditional": "有条件",
    "none": "不予",
    # levels
    "general_1": "一般数据 1 级",
    "general_2": "一般数据 2 级",
    "general_3": "一般数据 3 级",
    "general_4": "一般数据 4 级",
    "important": "重要数据",
    "core": "核心数据",
    # update cycles
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "half_yearly": "每半年",
    "yearly": "每年",
    "irregular": "不定期",
    # formats
    "file": "电子文件",
    "spreadsheet": "电子表格",
    "database": "数据库",
    "image": "图形图像",
    "stream": "流媒体",
    "self_describing": "自描述格式",
    "api": "服务接口",
    # states
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "approved": "已审核",
    "published": "已发布",
    "withdrawn": "已删减",
    # change requests (submitted/approved above)
    "modify": "修改",
    "delete": "删减",
    "district_reviewed": "区县已审核",
    "rejected": "未同意",
    "late": "逾期提出",
    # field types
    "string": "字符串",
    "text": "长文本",
    "integer": "整数",
    "decimal": "小数",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "布尔",
    # sensitivity kinds (none is shared with share/open types above)
    "id_number": "身份证号",
    "mobile": "手机号",
    "name": "姓名",
    "address": "地址",
    "bank_card": "银行卡号",
    "email": "电子邮箱",
    "plate": "车牌号",
    "credit_code": "统一社会信用代码",
    "free_text": "自由文本",
    # jobs
    "queued": "排队中",
    "running": "运行中",
    "done": "已完成",
    "failed": "失败",
    # ingestion and versions
    "replace": "全量替换",
    "append": "追加",
    "upsert": "按主键更新",
    "rollback": "回退",
    "reject": "整批拒绝",
    "quarantine": "发布有效行，隔离错误行",
    "refused": "已拒绝",
    "live": "当前",
    "superseded": "已替代",
    "pruned": "已清理",
    "upload": "上传",
    "pull": "定时拉取",
    "push": "接口推送",
}


def label(value: enum.Enum | str | None) -> str:
    """The display name of a coded value in the current language ('' for None)."""
    if value is None:
        return ""
    key = value.value if isinstance(value, enum.Enum) else value
    text = LABELS.get(str(key))
    return translate(text) if text else str(key)
