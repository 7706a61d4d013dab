// The example page: register the service worker, subscribe with the app's VAPID public key,
// and show the subscription as the JSON a backend reports as ThirdChannelDeviceToken.
"use strict";

const worker = document.getElementById("worker");
const shown = document.getElementById("subscription");

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function state(name, text) {
  worker.dataset.state = name;
  worker.textContent = text;
}

const registered = navigator.serviceWorker
  ? navigator.serviceWorker.register("sw.js").then(
      (registration) => {
        state("registered", `registered for ${registration.scope}`);
        return registration;
      },
      (error) => {
        state("failed", `not registered: ${error}`);
        throw error;
      },
    )
  : Promise.reject(new Error("this browser has no service workers"));

document.getElementById("key").value = new URLSearchParams(location.search).get("key") || "";

document.getElementById("subscribe").addEventListener("click", async () => {
  try {
    const registration = await registered;
    if ((await Notification.requestPermission()) !== "granted") {
      throw new Error("notifications are not allowed");
    }
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(document.getElementById("key").value.trim()),
    });
    shown.textContent = JSON.stringify(subscription.toJSON());
  } catch (error) {
    shown.textContent = `could not subscribe: ${error}`;
  }
});
