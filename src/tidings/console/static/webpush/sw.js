// The example service worker: show each push Tidings sends (its JSON payload: title, body, uri,
// data; docs/vendor-channels.md, "Web Push") and open its URI when the notification is clicked.
"use strict";

self.addEventListener("push", (event) => {
  const message = event.data ? event.data.json() : {};
  event.waitUntil(
    self.registration.showNotification(message.title || "", {
      body: message.body || "",
      data: { uri: message.uri, ...(message.data || {}) },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const uri = event.notification.data && event.notification.data.uri;
  if (uri) {
    event.waitUntil(self.clients.openWindow(uri));
  }
});
