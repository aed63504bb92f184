// Konsulta playground: a Telegram-like chat with the bot, over the emulator's citizen API.
// Message HTML comes from the server already rendered from Telegram entities and escaped
// (bot/emulator/playground/view.py); every other string is set with textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  citizens: [], languages: [], places: [], current: null,
  unread: {}, refreshing: 0, recorder: null, view: null,
};

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function act(action, body) {
  return api("POST", `/_test/users/${state.current}/${action}`, body).catch((error) => toast(error.message));
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

// --- citizens, language, clock ---------------------------------------------------------

function citizenLabel(citizen) {
  return `${citizen.first_name} (${citizen.language_code || "?"})`;
}

function renderCitizens() {
  const list = $("citizens");
  list.replaceChildren();
  for (const citizen of state.citizens) {
    const unread = state.unread[citizen.id] || 0;
    const button = el("button", {
      type: "button", class: "citizen", "aria-current": String(citizen.id === state.current),
      onclick: () => selectCitizen(citizen.id),
    }, [
      el("span", { class: "avatar", "aria-hidden": "true", text: citizen.first_name[0] }),
      el("span", { class: "name", text: citizenLabel(citizen) }),
      unread ? el("span", { class: "badge", text: String(unread), "aria-label": `${unread} new` }) : null,
    ]);
    list.append(el("li", {}, [button]));
  }
}

function renderLanguages() {
  const select = $("language");
  select.replaceChildren(...state.languages.map(
    (language) => el("option", { value: language.code, text: `${language.name} (${language.code})` }),
  ));
}

function currentCitizen() {
  return state.citizens.find((citizen) => citizen.id === state.current);
}

async function selectCitizen(id) {
  state.current = id;
  state.unread[id] = 0;
  history.replaceState(null, "", `#${id}`);
  const citizen = currentCitizen();
  $("language").value = citizen.language_code;
  $("phone").value = citizen.phone_number;
  $("chat-subtitle").textContent = `bot · you are ${citizen.first_name}`;
  $("messages").querySelectorAll(".msg").forEach((node) => node.remove());
  renderCitizens();
  await refreshChat();
}

async function setLanguage(code) {
  await act("language", { language_code: code });
  currentCitizen().language_code = code;
  renderCitizens();
  await refreshChat();
}

function renderClock(clock) {
  const available = Boolean(clock && clock.available);
  $("clock-form").hidden = !available;
  $("clock-off").hidden = available;
  $("clock-hint").hidden = !available;
  if (!available) { $("clock-now").textContent = "Bot clock: real time"; return; }
  const now = new Date(clock.now);
  const hours = Math.round(clock.ahead_seconds / 3600);
  const ahead = hours >= 48 ? `${Math.round(hours / 24)} days ahead`
    : hours >= 1 ? `${hours} hours ahead` : "real time";
  $("clock-now").textContent = `Bot clock: ${now.toLocaleString()} (${ahead})`;
}

async function moveClock(amount, unit) {
  try {
    renderClock(await api("POST", "/_playground/clock", { [unit]: Number(amount) }));
    toast(`The bot's clock moved ${amount} ${unit} forward`);
  } catch (error) { toast(error.message); }
}

// --- the chat ---------------------------------------------------------------------------

function time(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function renderMedia(media) {
  switch (media.type) {
    case "photo": return el("img", { src: media.url, alt: "Photo" });
    case "voice": return el("div", { class: "card" }, [
      el("span", { class: "big", "aria-hidden": "true", text: "🎤" }),
      el("audio", { controls: "", src: media.url, "aria-label": "Voice note" }),
      el("span", { text: formatDuration(media.duration) }),
    ]);
    case "document": return el("a", { href: media.url, download: media.file_name, text: `📄 ${media.file_name}` });
    case "location": return el("div", { class: "card" }, [
      el("span", { class: "big", "aria-hidden": "true", text: "📍" }),
      el("span", { text: `Location ${media.latitude}, ${media.longitude}` }),
    ]);
    case "contact": return el("div", { class: "card" }, [
      el("span", { class: "big", "aria-hidden": "true", text: "👤" }),
      el("span", { text: `${media.first_name} ${media.phone_number}` }),
    ]);
    case "sticker": return el("div", { class: "sticker", text: media.emoji });
    default: return null;
  }
}

function renderKeyboard(message) {
  if (!message.keyboard.length) return null;
  return el("div", { class: "inline-kb", role: "group", "aria-label": "Buttons" }, message.keyboard.map(
    (row) => el("div", { class: "kb-row" }, row.map((button) => button.url
      ? el("a", { href: button.url, target: "_blank", rel: "noopener noreferrer", text: `${button.text} ↗` })
      : el("button", {
        type: "button", text: button.text, dataset: { callback: button.callback_data || "" },
        onclick: (event) => tap(message.id, button, event.currentTarget),
      }))),
  ));
}

function renderMessage(message) {
  const bubble = el("div", { class: "bubble", dir: "auto" });
  if (message.media) bubble.append(renderMedia(message.media));
  if (message.html) {
    const body = el("div", { class: "text", dir: "auto" });
    body.innerHTML = message.html; // rendered from entities and escaped by the server
    bubble.append(body);
  }
  bubble.append(el("span", { class: "meta", text: `${message.edited ? "edited " : ""}${time(message.date)}` }));
  return el("div", {
    class: `msg ${message.from_bot ? "bot" : "me"}`, id: `m-${message.id}`,
    dataset: { signature: JSON.stringify(message) },
  }, [bubble, renderKeyboard(message)]);
}

function renderMessages(messages) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const wanted = new Set(messages.map((message) => `m-${message.id}`));
  box.querySelectorAll(".msg").forEach((node) => { if (!wanted.has(node.id)) node.remove(); });
  let previous = $("empty");
  let added = false;
  let changed = false;
  for (const message of messages) {
    const signature = JSON.stringify(message);
    let node = document.getElementById(`m-${message.id}`);
    if (!node || node.dataset.signature !== signature) {
      added ||= !node;
      changed = true;
      const fresh = renderMessage(message);
      const hadFocus = node && node.contains(document.activeElement);
      if (node) node.replaceWith(fresh); else previous.after(fresh);
      if (hadFocus) (fresh.querySelector("button") || fresh).focus?.();
      node = fresh;
    }
    previous = node;
  }
  $("empty").hidden = messages.length > 0;
  // Follow the conversation, unless the reader scrolled up and only an edit came in.
  if (added || (changed && nearBottom)) box.scrollTop = box.scrollHeight;
}

function renderReplyKeyboard(keyboard) {
  const box = $("reply-keyboard");
  const toggle = $("keyboard-toggle");
  toggle.hidden = !keyboard;
  if (!keyboard) { box.hidden = true; box.replaceChildren(); return; }
  box.replaceChildren(...keyboard.rows.map((row) => el("div", { class: "kb-row" }, row.map(
    (button) => el("button", {
      type: "button", text: button.text, dataset: { request: button.request || "" },
      onclick: () => replyButton(button),
    }),
  ))));
  if (!state.keyboardShownFor || state.keyboardShownFor !== JSON.stringify(keyboard)) {
    box.hidden = keyboard.hidden;
    state.keyboardShownFor = JSON.stringify(keyboard);
  }
  $("composer-text").placeholder = keyboard.placeholder || "Message";
}

function renderCommands(commands) {
  $("menu-button").hidden = commands.length === 0;
  $("menu-commands").replaceChildren(...commands.map((command) => el("button", {
    type: "button", role: "menuitem", onclick: () => { closePopups(); sendText(`/${command.command}`); },
  }, [
    el("span", { class: "command", text: `/${command.command}` }),
    el("span", { text: command.description }),
  ])));
}

async function refreshChat() {
  if (state.current === null) return;
  const ticket = ++state.refreshing;
  const view = await api("GET", `/_playground/chats/${state.current}`).catch(() => null);
  if (!view || ticket !== state.refreshing || view.citizen.id !== state.current) return;
  state.view = view;
  renderMessages(view.messages);
  renderReplyKeyboard(view.reply_keyboard);
  renderCommands(view.commands);
  const started = view.messages.length > 0;
  $("start").hidden = started;
  $("composer").hidden = !started;
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshChat, 30);
}

// --- what the citizen does ----------------------------------------------------------------

async function sendText(text) {
  if (!text.trim()) return;
  await act("text", { text });
  scheduleRefresh();
}

async function tap(messageId, button, node) {
  node.setAttribute("aria-busy", "true");
  await act("tap", { message_id: messageId, callback_data: button.callback_data });
}

function replyButton(button) {
  if (button.request === "location") return openLocation();
  if (button.request === "contact") return $("contact-dialog").showModal();
  if (state.view?.reply_keyboard) $("reply-keyboard").hidden = true;
  return sendText(button.text);
}

function openLocation() {
  const box = $("places");
  if (!box.childElementCount) {
    state.places.forEach((place, index) => {
      const input = el("input", {
        type: "radio", name: "place", value: String(index), checked: index === 0 ? "" : null,
        onchange: () => fillPlace(place),
      });
      box.append(el("label", {}, [input, el("span", { text: place.name })]));
    });
  }
  const chosen = box.querySelector("input:checked");
  fillPlace(state.places[chosen ? Number(chosen.value) : 0]);
  $("location-dialog").showModal();
}

function fillPlace(place) {
  $("latitude").value = place.latitude;
  $("longitude").value = place.longitude;
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function audioDuration(blob) {
  return new Promise((resolve) => {
    const audio = new Audio();
    const done = (value) => { URL.revokeObjectURL(audio.src); resolve(value); };
    audio.onloadedmetadata = () => done(Number.isFinite(audio.duration) ? audio.duration : 1);
    audio.onerror = () => done(1);
    audio.src = URL.createObjectURL(blob);
  });
}

async function sendPhoto(file) {
  const caption = $("composer-text").value.trim();
  $("composer-text").value = "";
  await act("photo", { data_base64: await readBase64(file), caption: caption || undefined });
}

async function sendVoice(blob, seconds) {
  const duration = Math.max(1, Math.round(seconds ?? await audioDuration(blob)));
  await act("voice", { data_base64: await readBase64(blob), duration });
}

async function toggleRecording() {
  const button = $("record");
  if (state.recorder) { state.recorder.stop(); return; }
  if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder) {
    $("voice-input").click(); // no microphone API here: pick a recorded file instead
    return;
  }
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (error) {
    toast("No microphone: pick a voice file instead");
    $("voice-input").click();
    return;
  }
  const idle = button.innerHTML;
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  const started = Date.now();
  const ticker = setInterval(() => {
    button.textContent = `⏹ ${formatDuration((Date.now() - started) / 1000)}`;
  }, 500);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = async () => {
    clearInterval(ticker);
    stream.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    button.innerHTML = idle; // the microphone icon from index.html
    button.classList.remove("recording");
    button.setAttribute("aria-label", "Record a voice note");
    await sendVoice(new Blob(chunks, { type: recorder.mimeType }), (Date.now() - started) / 1000);
  };
  state.recorder = recorder;
  recorder.start();
  button.classList.add("recording");
  button.setAttribute("aria-label", "Stop and send the voice note");
  button.textContent = "⏹ 0:00";
}

// --- popups and wiring ----------------------------------------------------------------

function closePopups() {
  for (const [menu, button] of [["menu-commands", "menu-button"], ["menu-attach", "attach-button"]]) {
    $(menu).hidden = true;
    $(button).setAttribute("aria-expanded", "false");
  }
}

function togglePopup(menuId, buttonId) {
  const open = $(menuId).hidden;
  closePopups();
  if (!open) return;
  $(menuId).hidden = false;
  $(buttonId).setAttribute("aria-expanded", "true");
  $(menuId).querySelector("button")?.focus();
}

function wire() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("composer-text").value;
    $("composer-text").value = "";
    sendText(text);
  });
  $("composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("start").addEventListener("click", () => sendText("/start"));
  $("language").addEventListener("change", (event) => setLanguage(event.target.value));
  $("menu-button").addEventListener("click", () => togglePopup("menu-commands", "menu-button"));
  $("attach-button").addEventListener("click", () => togglePopup("menu-attach", "attach-button"));
  $("keyboard-toggle").addEventListener("click", () => {
    $("reply-keyboard").hidden = !$("reply-keyboard").hidden;
  });
  $("menu-attach").addEventListener("click", (event) => {
    const choice = event.target.closest("[data-attach]")?.dataset.attach;
    if (!choice) return;
    closePopups();
    if (choice === "photo") $("photo-input").click();
    if (choice === "voice-file") $("voice-input").click();
    if (choice === "location") openLocation();
    if (choice === "contact") $("contact-dialog").showModal();
  });
  document.addEventListener("keydown", (event) => {
    const menu = event.target.closest?.(".popup");
    if (event.key === "Escape" && menu) {
      closePopups();
      $(menu.id === "menu-attach" ? "attach-button" : "menu-button").focus();
    } else if (menu && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault(); // arrow keys move through the menu, as in any menu
      const items = [...menu.querySelectorAll("button")];
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(items.indexOf(event.target) + step + items.length) % items.length].focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".popup, #menu-button, #attach-button")) closePopups();
  });
  $("photo-input").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) await sendPhoto(file);
  });
  $("voice-input").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) await sendVoice(file);
  });
  $("record").addEventListener("click", toggleRecording);
  $("location-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("location-dialog").close();
    $("reply-keyboard").hidden = true;
    await act("location", { latitude: Number($("latitude").value), longitude: Number($("longitude").value) });
  });
  $("contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("contact-dialog").close();
    $("reply-keyboard").hidden = true;
    await act("contact", { phone_number: $("phone").value, first_name: currentCitizen().first_name });
  });
  document.querySelectorAll("[data-close]").forEach((button) => {
    button.addEventListener("click", () => button.closest("dialog").close());
  });
  $("messages").addEventListener("click", (event) => {
    const command = event.target.closest("a.command");
    if (command) { event.preventDefault(); sendText(command.dataset.command); return; }
    const spoiler = event.target.closest(".spoiler");
    if (spoiler) spoiler.classList.toggle("revealed");
  });
  $("clock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    moveClock($("clock-amount").value, $("clock-unit").value);
  });
  document.querySelectorAll(".quick[data-days]").forEach((button) => {
    button.addEventListener("click", () => moveClock(button.dataset.days, "days"));
  });
}

function listen() {
  const events = new EventSource("/_playground/events");
  events.onmessage = (event) => {
    const pushed = JSON.parse(event.data);
    if (pushed.kind === "hello") { scheduleRefresh(); return; }
    if (pushed.kind === "clock") { renderClock(pushed); return; }
    if (pushed.toast && pushed.chat_id === state.current) toast(pushed.toast);
    if (pushed.chat_id === state.current) { scheduleRefresh(); return; }
    if (pushed.kind === "message" && pushed.chat_id in state.unread) {
      state.unread[pushed.chat_id] += 1;
      renderCitizens();
    }
  };
}

async function start() {
  wire();
  const setup = await api("GET", "/_playground/state");
  state.citizens = setup.citizens;
  state.languages = setup.languages;
  state.places = setup.places;
  for (const citizen of state.citizens) state.unread[citizen.id] = 0;
  $("chat-title").textContent = setup.bot.first_name;
  renderLanguages();
  renderClock(setup.clock);
  const fromHash = Number(location.hash.slice(1));
  const first = state.citizens.find((citizen) => citizen.id === fromHash) || state.citizens[0];
  listen();
  await selectCitizen(first.id);
}

document.addEventListener("DOMContentLoaded", start);
