// The example app: one crdt-leader document holding a shopping list (OR-Set `items`),
// a like counter (PN-Counter `likes`) and a title (LWW-Register `title`), opened with
// openDoc from the crdt-wasm package (served next to this file in ./pkg/).
//
// The token comes from the URL fragment (`#token=...`, never sent to the server or
// its logs) or a form, and is kept in sessionStorage; `?doc=NAME` picks the document.
import { openDoc } from "./pkg/client.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const docName = params.get("doc") ?? "shopping";
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("token")) {
  sessionStorage.setItem("crdt-token", fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}
// The online toggle survives a reload (so a page taken offline stays offline).
const offlineKey = `crdt-offline:${docName}`;

async function start(token) {
  $("doc").textContent = docName;
  const doc = await openDoc({
    url: location.origin,
    doc: docName,
    token,
    online: localStorage.getItem(offlineKey) !== "1",
  });
  window.crdtDoc = doc; // for the browser tests and the console
  const render = () => {
    $("title").textContent = doc.get("title") ?? "Shopping list";
    $("likes").textContent = String(doc.get("likes") ?? 0);
    const items = doc.get("items") ?? [];
    $("items").replaceChildren(
      ...items.map((item) => {
        const li = document.createElement("li");
        li.dataset.item = item;
        li.textContent = item;
        const remove = document.createElement("button");
        remove.textContent = "✕";
        remove.className = "remove";
        remove.title = `remove ${item}`;
        remove.onclick = () => doc.remove("items", item).catch(showError);
        li.append(remove);
        return li;
      }),
    );
    $("replica").textContent = String(doc.replicaId ?? "");
    $("role").textContent = doc.role === "primary" ? "this tab syncs" : "another tab syncs";
  };
  const renderStatus = () => {
    $("status").textContent = doc.status;
    $("status").dataset.status = doc.status;
    $("online").checked = doc.online;
    if (doc.error) showError(new Error(`${doc.error.reason} (code ${doc.error.code})`));
  };
  doc.addEventListener("change", render);
  doc.addEventListener("status", () => (renderStatus(), render()));
  doc.addEventListener("error", renderStatus);
  $("online").onchange = (e) => {
    doc.online = e.target.checked;
    localStorage.setItem(offlineKey, e.target.checked ? "0" : "1");
  };
  $("title-form").onsubmit = (e) => {
    e.preventDefault();
    const value = $("title-input").value.trim();
    if (value) doc.set("title", value).catch(showError);
    $("title-input").value = "";
  };
  $("item-form").onsubmit = (e) => {
    e.preventDefault();
    const value = $("item-input").value.trim();
    if (value) doc.insert("items", value).catch(showError);
    $("item-input").value = "";
  };
  $("like").onclick = () => doc.increment("likes").catch(showError);
  $("unlike").onclick = () => doc.decrement("likes").catch(showError);
  $("main").hidden = false;
  render();
  renderStatus();
}

function showError(e) {
  $("error").textContent = e.message;
}

const token = sessionStorage.getItem("crdt-token");
if (token) {
  start(token).catch(showError);
} else {
  $("token-form").hidden = false;
  $("token-form").onsubmit = (e) => {
    e.preventDefault();
    sessionStorage.setItem("crdt-token", $("token-input").value.trim());
    $("token-form").hidden = true;
    start($("token-input").value.trim()).catch(showError);
  };
}
