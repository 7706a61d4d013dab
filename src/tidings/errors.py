"""MPS result codes and the exception that carries one out of the domain.

The domain raises ``ServiceError`` with a code from the MPS tables; the OpenAPI edge puts it
into the response family of the action that was called. Codes are part of the wire contract,
so the numbers and names follow the MPS documentation; ``docs/api.md`` says when each is used.
"""

from __future__ import annotations

from enum import Enum


class Code(Enum):
    """A result code: its wire value and its documented name."""

    SUCCESS = ("100", "SUCCESS")
    NEED_DELIVERYTOKEN = ("3001", "NEED_DELIVERYTOKEN")
    NEED_APPID_WORKSPACEID = ("3003", "NEED_APPID_WORKSPACEID")
    DELIVERY_TYPE_NOT_SUPPORTED = ("3009", "DELIVERY_TYPE_NOT_SUPPORTED")
    NEED_USERID = ("3012", "NEED_USERID")
    TASKNAME_NULL = ("3019", "TASKNAME_NULL")
    EXPIREDSECONDS_WRONG = ("3020", "EXPIREDSECONDS_WRONG")
    TOKEN_OR_USERID_NULL = ("3021", "TOKEN_OR_USERID_NULL")
    TEMPLATE_NOT_EXIST = ("3022", "TEMPLATE_NOT_EXIST")
    TEMPLATEKV_NOT_ENOUGH = ("3023", "TEMPLATEKV_NOT_ENOUGH")
    PAYLOAD_NOT_ENOUGH = ("3024", "PAYLOAD_NOT_ENOUGH")
    NEED_TEMPLATE = ("3025", "NEED_TEMPLATE")
    EXPIREDTIME_TOO_LONG = ("3026", "EXPIREDTIME_TOO_LONG")
    INVALID_PARAM = ("3028", "INVALID_PARAM")
    TARGET_TOO_MUCH = ("3029", "SINGLE_PUSH_TARGET_TOO_MUCH")
    BROADCAST_ONLY_SUPPORT_BY_DEVICE = ("3030", "BROADCAST_ONLY_SUPPORT_BY_DEVICE")
    EXTEND_PARAM_TO_MUCH = ("3035", "EXTEND_PARAM_TO_MUCH")
    TEMPLATE_ALREADY_EXIST = ("3036", "TEMPLATE_ALREADY_EXIST")
    TEMPLATE_NAME_NULL = ("3037", "TEMPLATE_NAME_NULL")
    TEMPLATE_NAME_INVALID = ("3038", "TEMPLATE_NAME_INVALID")
    TEMPLATE_CONTENT_INVALID = ("3039", "TEMPLATE_CONTENT_INVALID")
    TEMPLATE_TITLE_INVALID = ("3040", "TEMPLATE_TITLE_INVALID")
    TEMPLATE_DESC_INFO_INVALID = ("3041", "TEMPLATE_DESC_INFO_INVALID")
    TEMPLATE_URI_INVALID = ("3042", "TEMPLATE_URI_INVALID")
    SINGLE_PUSH_CONTENT_TOO_LONG = ("3043", "SINGLE_PUSH_CONTENT_TOO_LONG")
    INVALID_EXTEND_PARAM = ("3044", "INVALID_EXTEND_PARAM")
    MULTIPLE_INNER_EXTEND_PARAM_TO_MUCH = ("3049", "MULTIPLE_INNER_EXTEND_PARAM_TO_MUCH")
    MSG_PAYLOAD_TOO_LONG = ("3050", "MSG_PAYLOAD_TOO_LONG")
    INVALID_INSTANCE_ID = ("8012", "INVALID_INSTANCE_ID")
    INVALID_TENANT_ID = ("8013", "INVALID_TENANT_ID")

    @property
    def value_str(self) -> str:
        return self.value[0]

    @property
    def label(self) -> str:
        return self.value[1]


# Where in a call a refused value sits, as the wire nests it: ("TargetMsg", 3, "TemplateKeyValue")
# is the TemplateKeyValue of the third TargetMsg entry. Empty: the call as a whole.
FieldPath = tuple[str | int, ...]


def path_of(name: str) -> FieldPath:
    """The path a dotted field name spells: TargetMsg.3.MsgKey -> ("TargetMsg", 3, "MsgKey")."""
    return tuple(
        int(part) if part.isascii() and part.isdigit() else part for part in name.split(".")
    )


class ServiceError(Exception):
    """A request the service refuses, with the MPS code and a message naming the field at fault.

    ``path`` says which field it is, for an edge to point at it without reading the message:
    the console shows the message beside the input the path names.
    """

    def __init__(self, code: Code, detail: str, path: FieldPath = ()) -> None:
        super().__init__(f"{code.label}: {detail}")
        self.code = code
        self.detail = detail
        self.path = path

    @property
    def message(self) -> str:
        return str(self)


def refused(code: Code, field: str, problem: str) -> ServiceError:
    """The refusal of one field: the message is the field's name and the problem, the path the
    name's parts (``refused(code, "TargetMsg.2.MsgKey", "is required")``)."""
    return ServiceError(code, f"{field} {problem}", path_of(field))
