"""The SMS supplement group of the template and simple push forms (docs/sms.md).

The form's four inputs become the SMS fields of the push's options exactly as the API's
parameters do: ``push/sms.py`` reads them, when the push rules reach the options, so a fault is
refused with the field's name and shown beside its input (``FIELDS``). Strategy 0 reads none of
the others, which is also what the form shows by hiding them.
"""

from __future__ import annotations

from tidings.contract import PushOptions
from tidings.push.call import Read
from tidings.push.sms import ALONGSIDE, NONE, WHEN_NOT_ARRIVED, SmsFields, sms_options

FIELDS = {
    "SmsStrategy": "sms_strategy",
    "SmsTemplateCode": "sms_template_code",
    "SmsSignName": "sms_sign_name",
    "SmsTemplateParam": "sms_template_param",
}
INPUTS = tuple(FIELDS.values())
STRATEGIES = [
    (str(NONE), "No SMS"),
    (str(WHEN_NOT_ARRIVED), "If the push has not arrived within the delay"),
    (str(ALONGSIDE), "Alongside the push, at once"),
]
# The values of the strategy input for which the other three apply (console.js's data-when).
ASKING = "|".join(str(strategy) for strategy in (WHEN_NOT_ARRIVED, ALONGSIDE))


def options(values: dict[str, str]) -> Read[PushOptions]:
    """The push's options from the form: its SMS fields only, read when the rules reach them."""
    fields = SmsFields(
        strategy=values["sms_strategy"],
        template_code=values["sms_template_code"],
        sign_name=values["sms_sign_name"],
        template_param=values["sms_template_param"],
    )
    return lambda: PushOptions(**sms_options(fields))
