"""RevokePushMessage and RevokePushTask (response family A).

``PushResult.Data`` says what the revocation did, as JSON text: how many deliveries were
withdrawn before they were sent, recalled (from devices over the self-built channel, or taken
back by the vendor that accepted them), unrecallable (a vendor accepted them and did not take
them back: it offers no recall, refused, or could not be reached, in which case the recall
sweep asks it again later), and how many occurrences of a scheduled push were cancelled. The
keys are the same whatever happened.
"""

from __future__ import annotations

from tidings.openapi.actions import Body, Call, action
from tidings.openapi.envelopes import push_failure, push_result


@action("RevokePushMessage", writes=True, failure=push_failure)
async def revoke_push_message(call: Call) -> Body:
    p = call.params
    app = await call.app()
    result = await call.services.revocations.revoke_message(
        app.pk, p.get("MessageId"), p.get("TargetId")
    )
    return push_result(call.request_id, result.to_data())


@action("RevokePushTask", writes=True, failure=push_failure)
async def revoke_push_task(call: Call) -> Body:
    app = await call.app()
    result = await call.services.revocations.revoke_task(app.pk, call.params.get("TaskId"))
    return push_result(call.request_id, result.to_data())
