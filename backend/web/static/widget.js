/*
 * The carrier's chat widget. One script tag embeds it in any page:
 *
 *   <script src="https://<backend>/widget.js" defer></script>
 *
 * Optional attributes on that tag: data-title="Nanning Express" (the name in the header) and
 * data-open="true" (start with the chat open), data-lang="zh" or "en" (the widget's own words; by default
 * the browser's language). The page gets window.CarrierChat = {open, close, ask}.
 *
 * It adds a launcher button and a chat panel (deep-chat, loaded from the same backend) inside its own
 * shadow root, so the host page's styles and ours never mix. The backend issues and signs the
 * conversation id; the widget keeps that token in localStorage, so a reload or a new tab continues the
 * same conversation. Messages go out over one WebSocket, which also brings every stored message of the
 * conversation back: the bot's replies and anything an agent writes later. Photos go up by HTTP.
 */
(function () {
  'use strict';

  if (window.CarrierChat) return; // the tag was pasted twice

  const script = document.currentScript;
  const BASE = new URL(script && script.src ? script.src : '/widget.js', window.location.href).origin;
  const OPTIONS = (script && script.dataset) || {};
  const TITLE = OPTIONS.title || 'Nanning Express';
  const TOKEN_KEY = 'carrier-chat:' + BASE;
  const OPEN_KEY = 'carrier-chat-open:' + BASE;
  const SESSION_HEADER = 'X-Widget-Session';
  const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
  const PHOTO_TYPES = 'image/jpeg,image/png,image/gif,image/webp';
  // Latin fonts first, then the common Chinese system fonts (macOS/iOS, Windows, Android/Linux), so Chinese
  // never shows as boxes where the first fonts have no CJK glyphs.
  const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' +
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", ' +
    '"Source Han Sans SC", "WenQuanYi Micro Hei", "Heiti SC", SimHei, sans-serif';
  const BRAND = '#0b6e4f';
  const CLOSE_UNAUTHORISED = 4401;
  // The widget's own words in the shipper's language: the page's data-lang, else the browser's.
  // (The bot's replies come in the language of what the shipper writes.)
  const LANG = /^zh/i.test(OPTIONS.lang || navigator.language || '') ? 'zh' : 'en';
  const TEXTS = {
    en: {
      placeholder: 'Type a message…',
      launcher: 'Chat',
      chatWith: 'Chat with ',
      close: 'Close chat',
      choices: 'Choices',
      sendPhoto: 'Send a photo',
      send: 'Send',
      agent: 'Agent',
      agentNamed: (name) => name,
      newMessages: (n) => ` (${n} new message${n === 1 ? '' : 's'})`,
      intro: 'Hello! I can track your parcel, register a complaint or find you a colleague. ' +
        'Send a waybill number such as EA100000025CN to start.',
      starting: 'Starting the chat…',
      startFailed: 'Sorry, the chat could not start. Please check your connection and try again.',
      retry: 'Try again',
      typing: TITLE + ' is typing…',
      reconnecting: 'Reconnecting…',
      photoTooLarge: 'That photo is larger than 10 MB. Could you send a smaller one?',
      photoFailed: 'Sorry, the photo could not be sent. Please try again.',
      photosOnly: 'I can only take photos (JPEG, PNG, GIF or WebP). Could you send it as a photo?',
      failed: 'Sorry, that message could not be delivered. Please send it again.',
      slowDown: "You're sending messages faster than we can read them. Please wait a minute, then send it again.",
      states: {
        bot: 'Customer service',
        queued: 'Waiting for a colleague',
        agent: 'You are chatting with a colleague',
      },
    },
    zh: {
      placeholder: '请输入消息…',
      launcher: '在线客服',
      chatWith: '联系',
      close: '关闭对话',
      choices: '选项',
      sendPhoto: '发送照片',
      send: '发送',
      agent: '客服',
      agentNamed: (name) => `客服 ${name}`,
      newMessages: (n) => `（${n}条新消息）`,
      intro: '您好！我可以帮您查询快递、登记投诉，或者为您转接人工客服。请发送运单号（例如 EA100000025CN）开始。',
      starting: '正在连接…',
      startFailed: '非常抱歉，对话未能开始。请检查网络后重试。',
      retry: '重试',
      typing: TITLE + '正在输入…',
      reconnecting: '正在重新连接…',
      photoTooLarge: '非常抱歉，这张照片超过了10兆。麻烦您发一张小一点的照片。',
      photoFailed: '非常抱歉，照片没有发送成功，请您再试一次。',
      photosOnly: '非常抱歉，我这里只能接收照片。麻烦您以照片的形式发送。',
      failed: '非常抱歉，这条消息没有发送成功，请您再发一次。',
      slowDown: '您发送消息的速度太快了，我们来不及处理。请稍等一分钟，再发送这条消息。',
      states: {
        bot: '在线客服',
        queued: '正在为您转接客服人员',
        agent: '客服人员正在为您服务',
      },
    },
  };
  const TEXT = TEXTS[LANG];
  const PLACEHOLDER = TEXT.placeholder;

  // -- small helpers ----------------------------------------------------------------------------------

  const HTML_ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
  }

  function newId() {
    // crypto.randomUUID needs a secure context; getRandomValues works on any page.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function storage(area) {
    try {
      return window[area];
    } catch (_) {
      return null; // storage disabled by the browser: the chat still works, it just forgets on reload
    }
  }

  function remember(area, key, value) {
    try {
      const store = storage(area);
      if (!store) return;
      if (value == null) store.removeItem(key);
      else store.setItem(key, value);
    } catch (_) {
      /* quota or privacy mode */
    }
  }

  function recall(area, key) {
    try {
      const store = storage(area);
      return store ? store.getItem(key) : null;
    } catch (_) {
      return null;
    }
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function svg(path) {
    const ns = 'http://www.w3.org/2000/svg';
    const icon = document.createElementNS(ns, 'svg');
    icon.setAttribute('viewBox', '0 0 24 24');
    icon.setAttribute('aria-hidden', 'true');
    icon.setAttribute('focusable', 'false');
    const shape = document.createElementNS(ns, 'path');
    shape.setAttribute('d', path);
    icon.appendChild(shape);
    return icon;
  }

  async function api(path, init) {
    const response = await fetch(BASE + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // Shipper and agent text is shown as text, never as HTML or Markdown: deep-chat renders `text` with
  // Remarkable (links of any scheme allowed), so every text message goes through this renderer instead.
  // deep-chat only reads plugins from this global, so other deep-chat elements on the page get it too.
  // An agent's message starts with AUTHOR_MARK, their name and a line break: the name becomes the
  // bubble's small label ("客服 李伟"), so the shipper sees who writes.
  const AUTHOR_MARK = '\u2063';
  const lines = (text) => escapeHtml(text).replace(/\n/g, '<br>');
  function plainTextRenderer(md) {
    md.render = (source) => {
      const text = source == null ? '' : String(source);
      if (text.startsWith(AUTHOR_MARK) && text.includes('\n')) {
        const cut = text.indexOf('\n');
        return `<p><span class="cc-author">${escapeHtml(text.slice(1, cut))}</span>${lines(text.slice(cut + 1))}</p>`;
      }
      return '<p>' + lines(text) + '</p>';
    };
  }
  window.remarkable_plugins = window.remarkable_plugins || [];
  window.remarkable_plugins.push({plugin: plainTextRenderer});

  // -- the launcher and the panel -----------------------------------------------------------------------

  const host = el('div', {id: 'carrier-chat-widget'});
  host.style.visibility = 'hidden'; // until our stylesheet has loaded: no flash of unstyled buttons
  const root = host.attachShadow({mode: 'open'});
  const stylesheet = el('link', {rel: 'stylesheet', href: BASE + '/widget/static/widget.css'});
  stylesheet.onload = stylesheet.onerror = () => {
    host.style.visibility = '';
  };
  const badge = el('span', {class: 'badge', 'aria-hidden': 'true'});
  badge.hidden = true;
  const launcherAttributes = {class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'panel'};
  const launcher = el('button', launcherAttributes, [
    svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'),
    el('span', {class: 'launcher-text', text: TEXT.launcher}),
    badge,
  ]);
  const subtitle = el('div', {class: 'subtitle', text: TEXT.states.bot});
  const closeButton = el('button', {class: 'close', type: 'button', 'aria-label': TEXT.close}, [
    svg('M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z'),
  ]);
  const status = el('div', {class: 'visually-hidden', role: 'status', 'aria-live': 'polite'});
  const body = el('div', {class: 'body'});
  const panelAttributes = {class: 'panel', id: 'panel', role: 'dialog', 'aria-label': TEXT.chatWith + TITLE};
  const panel = el('section', panelAttributes, [
    el('header', {class: 'panel-header'}, [
      el('div', {class: 'who'}, [el('div', {class: 'title', text: TITLE}), subtitle]),
      closeButton,
    ]),
    status,
    body,
  ]);
  panel.hidden = true;
  root.append(stylesheet, launcher, panel);

  let unread = 0;
  let stateText = TEXT.states.bot;
  let reconnecting = false;

  function updateSubtitle() {
    subtitle.textContent = reconnecting ? TEXT.reconnecting : stateText;
  }

  function updateLauncher() {
    badge.hidden = unread === 0;
    badge.textContent = unread > 9 ? '9+' : String(unread);
    const news = unread ? TEXT.newMessages(unread) : '';
    launcher.setAttribute('aria-label', TEXT.chatWith + TITLE + news);
  }

  function isOpen() {
    return !panel.hidden;
  }

  function open() {
    panel.hidden = false;
    host.classList.add('is-open');
    launcher.setAttribute('aria-expanded', 'true');
    remember('sessionStorage', OPEN_KEY, '1');
    unread = 0;
    updateLauncher();
    return ensureChat().then(() => chat && chat.focusInput());
  }

  function close() {
    panel.hidden = true;
    host.classList.remove('is-open');
    launcher.setAttribute('aria-expanded', 'false');
    remember('sessionStorage', OPEN_KEY, null);
    launcher.focus();
  }

  launcher.addEventListener('click', () => (isOpen() ? close() : open()));
  closeButton.addEventListener('click', close);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });

  // -- the conversation ---------------------------------------------------------------------------------

  let token = recall('localStorage', TOKEN_KEY);
  let chat = null;
  let chatReady = null;
  let rendered = null;
  let lastId = 0; // the newest stored message this widget shows
  let typing = false;
  // Texts this widget has shown as the shipper's own, waiting for the stored copy to come back.
  let echoes = [];
  // Frames not yet acknowledged: sent again (same client id, so stored once) after a reconnect.
  const outbox = new Map();
  const loading = {toggle: () => {}}; // deep-chat replaces toggle when it renders
  let drawing = Promise.resolve();

  function say(text) {
    if (chat) chat.addMessage({role: 'system', text});
  }

  function lastBubbleIsLoading() {
    const bubbles = chat && chat.shadowRoot ? chat.shadowRoot.querySelectorAll('.message-bubble') : [];
    const last = bubbles[bubbles.length - 1];
    return !!last && last.classList.contains('deep-chat-loading-message-bubble');
  }

  // A message of ours is answered (or refused): the dots shown since it was sent go once nothing else
  // waits. The backend sends "typing" frames only for a turn slower than 0.3 s, so a quick answer
  // ends them here.
  function settled(clientId) {
    outbox.delete(clientId);
    if (outbox.size === 0) drawing = drawing.then(() => setTyping(false));
  }

  function setTyping(on) {
    if (!chat || on === typing) return;
    typing = on;
    status.textContent = on ? TEXT.typing : '';
    if (on) {
      loading.toggle({});
    } else {
      // toggle() removes the bubble only when it is last; otherwise it would add one, so take that too.
      if (!lastBubbleIsLoading()) loading.toggle();
      loading.toggle();
    }
  }

  function disableChoices() {
    if (!chat || !chat.shadowRoot) return;
    chat.shadowRoot.querySelectorAll('.cc-choice:not([disabled])').forEach((button) => {
      button.disabled = true;
    });
  }

  function choicesHtml(messageId, titles, answered) {
    // Our own markup: every title is escaped, the ids are numbers.
    const buttons = titles.map((title, index) =>
      `<button type="button" class="deep-chat-button cc-choice" data-message="${Number(messageId)}" ` +
      `data-index="${index}"${answered ? ' disabled' : ''}>${escapeHtml(title)}</button>`);
    return `<div class="cc-choices" role="group" aria-label="${TEXT.choices}">${buttons.join('')}</div>`;
  }

  async function photos(attachments) {
    const found = await Promise.all((attachments || []).map(async (attachment) => {
      if (!String(attachment.content_type).startsWith('image/')) return null;
      try {
        const response = await fetch(`${BASE}/widget/attachments/${Number(attachment.id)}`, {
          headers: {[SESSION_HEADER]: token},
        });
        if (!response.ok) return null;
        return {src: URL.createObjectURL(await response.blob()), type: 'image', name: 'photo'};
      } catch (_) {
        return null;
      }
    }));
    return found.filter(Boolean);
  }

  // One stored message as deep-chat messages: its text (and photos), then its buttons.
  async function toDeepChat(message, answered) {
    const items = [];
    const files = await photos(message.attachments);
    const item = {role: message.role};
    if (message.text) item.text = message.text;
    if (message.text && message.role === 'agent') {
      item.text = AUTHOR_MARK + (message.author ? TEXT.agentNamed(message.author) : TEXT.agent) + '\n' + message.text;
    }
    if (files.length) item.files = files;
    if (item.text || item.files) items.push(item);
    if (message.buttons && message.buttons.length) {
      items.push({role: message.role, html: choicesHtml(message.id, message.buttons, answered)});
    }
    return items;
  }

  async function showMessage(message) {
    if (!chat || message.id <= lastId) return;
    lastId = message.id;
    if (message.role === 'user') {
      const index = echoes.indexOf(message.text);
      if (index >= 0) {
        echoes.splice(index, 1); // our own message, already on screen
        return;
      }
      disableChoices(); // sent from another tab: the question it answered is settled
    }
    (await toDeepChat(message, false)).forEach((item) => chat.addMessage(item));
    if (message.role !== 'user' && !isOpen()) {
      unread += 1;
      updateLauncher();
    }
  }

  function send(frame, echo) {
    frame.language = navigator.language || ''; // a hint for the shipper's language (zh-CN, en-GB)
    echoes.push(echo);
    outbox.set(frame.client_id, frame);
    disableChoices();
    if (connection.open) setTyping(true);
    connection.flush();
  }

  function onUserMessage(request) {
    const messages = (request && request.messages) || [];
    const last = messages[messages.length - 1] || {};
    if (last.files && last.files.length) {
      say(TEXT.photosOnly); // a dropped file that is not an image never reaches the photo upload
      return;
    }
    const text = (last.text || '').trim();
    if (text) send({type: 'text', text, client_id: newId()}, text);
  }

  function onChoice(event) {
    const button = event.currentTarget;
    if (!button || button.disabled || !connection.open) return;
    const title = button.textContent;
    const frame = {
      type: 'button',
      message_id: Number(button.dataset.message),
      index: Number(button.dataset.index),
      client_id: newId(),
    };
    disableChoices();
    chat.addMessage({role: 'user', text: title});
    send(frame, title);
  }

  async function uploadPhoto(file, text) {
    if (file.size > MAX_PHOTO_BYTES) {
      say(TEXT.photoTooLarge);
      return;
    }
    const echo = text; // a photo without words comes back with no text
    const form = new FormData();
    form.append('file', file, file.name || 'photo');
    if (text) form.append('text', text);
    form.append('client_id', newId());
    echoes.push(echo);
    disableChoices();
    setTyping(true);
    try {
      await api('/widget/upload', {method: 'POST', headers: {[SESSION_HEADER]: token}, body: form});
    } catch (error) {
      echoes.splice(echoes.indexOf(echo), 1);
      say(error.status ? error.message : TEXT.photoFailed);
    } finally {
      setTyping(false);
    }
  }

  // deep-chat's photo button hands the picked file over as FormData: `files` and the typed text.
  async function uploadHandler(form, signals) {
    try {
      const files = form instanceof FormData ? form.getAll('files') : [];
      let text = '';
      if (form instanceof FormData) {
        form.forEach((value, key) => {
          if (!key.startsWith('message') || typeof value !== 'string') return;
          try {
            text = JSON.parse(value).text || text;
          } catch (_) {
            /* not a message */
          }
        });
      }
      if (files[0]) await uploadPhoto(files[0], text.trim());
    } finally {
      signals.onResponse([]); // the replies come over the WebSocket like every other message
    }
  }

  // -- the live connection ------------------------------------------------------------------------------

  const connection = {
    socket: null,
    signals: null,
    open: false,
    attempts: 0,
    retryTimer: null,
    pingTimer: null,
    sent: new Set(),
    waiting: [],

    attach(signals) {
      this.signals = signals;
      signals.newUserMessage.listener = onUserMessage;
      this.connect();
    },

    whenOpen() {
      return this.open ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
    },

    connect() {
      if (this.socket || !token || !chat) return;
      clearTimeout(this.retryTimer);
      const socket = new WebSocket(BASE.replace(/^http/, 'ws') + '/widget/ws');
      this.socket = socket;
      // The token goes in the first frame, not the URL, so it stays out of access logs.
      socket.onopen = () => socket.send(JSON.stringify({type: 'hello', session: token, after: lastId}));
      socket.onmessage = (event) => {
        if (socket !== this.socket) return;
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (_) {
          return;
        }
        this.onFrame(frame);
      };
      socket.onclose = (event) => {
        if (socket === this.socket) this.onClose(event);
      };
    },

    onFrame(frame) {
      if (frame.type === 'ready') {
        this.open = true;
        this.attempts = 0;
        reconnecting = false;
        // Who speaks now (a reload while waiting for a colleague keeps saying so).
        if (frame.state) stateText = TEXT.states[frame.state] || TEXT.states.bot;
        updateSubtitle();
        host.dataset.connection = 'open'; // for the page (and tests): the chat can send now
        if (this.signals) this.signals.onOpen();
        if (chat && chat._validationHandler) chat._validationHandler(); // re-enable the send button
        if (chat) labelControls(chat);
        this.flush();
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.transmit({type: 'ping'}), 25000);
        this.waiting.splice(0).forEach((resolve) => resolve());
      } else if (frame.type === 'message') {
        const message = frame.message;
        drawing = drawing.then(() => showMessage(message)).catch((error) => console.error(error));
      } else if (frame.type === 'typing') {
        drawing = drawing.then(() => setTyping(!!frame.on));
      } else if (frame.type === 'ack') {
        settled(frame.client_id);
      } else if (frame.type === 'failed') {
        settled(frame.client_id);
        drawing = drawing.then(() => say(TEXT.failed));
      } else if (frame.type === 'limited') {
        // Over the conversation's message budget (a script, or a stuck key): not stored, not resent.
        settled(frame.client_id);
        drawing = drawing.then(() => say(TEXT.slowDown));
      } else if (frame.type === 'state') {
        stateText = TEXT.states[frame.state] || TEXT.states.bot;
        updateSubtitle();
      }
    },

    transmit(frame) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    },

    flush() {
      if (!this.open) return;
      outbox.forEach((frame, id) => {
        if (this.sent.has(id)) return;
        this.sent.add(id);
        this.transmit(frame);
      });
    },

    onClose(event) {
      this.socket = null;
      this.open = false;
      this.sent.clear();
      clearInterval(this.pingTimer);
      if (this.signals) this.signals.onClose();
      setTyping(false);
      if (event.code === CLOSE_UNAUTHORISED) {
        restart(); // the token is no longer valid: start a new conversation
        return;
      }
      reconnecting = true;
      updateSubtitle();
      host.dataset.connection = 'reconnecting';
      const delay = Math.min(15000, 1000 * 2 ** this.attempts);
      this.attempts += 1;
      this.retryTimer = setTimeout(() => this.connect(), delay);
    },

    now() {
      // Back online or back to the tab: no need to wait for the next retry.
      if (!this.socket && chat) {
        this.attempts = 0;
        this.connect();
      }
    },
  };

  window.addEventListener('online', () => connection.now());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') connection.now();
  });

  // -- deep-chat -----------------------------------------------------------------------------------------

  function loadDeepChat() {
    if (window.customElements.get('deep-chat')) return Promise.resolve();
    return import(BASE + '/widget/static/deep-chat.js');
  }

  const AUXILIARY_STYLE = `
    .cc-author { display: block; font-size: 11px; font-weight: 600;
      letter-spacing: .02em; color: #3d5a80; margin-bottom: 2px; }
    .text-message p { margin: 0; overflow-wrap: anywhere; }
    .cc-choices { display: flex; flex-wrap: wrap; gap: 8px; }
    .cc-choice { font: inherit; font-size: 15px; min-height: 40px; }
    .cc-choice[disabled] { opacity: .5; cursor: default !important; }
    .cc-choice:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
    .system-message { text-align: center; }
  `;

  // deep-chat's input controls are divs without names; screen readers (and tests) need them.
  function labelControls(element) {
    const inner = element.shadowRoot;
    if (!inner) return;
    const input = inner.getElementById('text-input');
    if (input) input.setAttribute('placeholder', PLACEHOLDER);
    [['upload-images-icon', TEXT.sendPhoto], ['submit-icon', TEXT.send]].forEach(([iconId, label]) => {
      const icon = inner.getElementById(iconId);
      const button = icon && icon.closest('.input-button');
      if (button) button.setAttribute('aria-label', label);
    });
  }

  function createChat(history) {
    const element = document.createElement('deep-chat');
    // deep-chat links a web font from Google unless the element has a font of its own: no CDN here.
    element.style.fontFamily = FONT;
    element.style.border = '0';
    const ready = new Promise((resolve) => {
      element.onComponentRender = () => {
        labelControls(element);
        resolve();
      };
    });
    Object.assign(element, {
      history,
      introMessage: {text: TEXT.intro},
      textInput: {placeholder: {text: PLACEHOLDER}, characterLimit: 4000},
      requestBodyLimits: {maxMessages: 1},
      displayLoadingBubble: loading,
      connect: {websocket: true, handler: (_body, signals) => connection.attach(signals)},
      images: {
        connect: {handler: uploadHandler},
        files: {acceptedFormats: PHOTO_TYPES, maxNumberOfFiles: 1},
      },
      errorMessages: {displayServiceErrorMessages: true},
      chatStyle: {
        width: '100%', height: '100%', border: 'none', borderRadius: '0', backgroundColor: '#ffffff', fontFamily: FONT,
      },
      messageStyles: {
        default: {
          shared: {
            bubble: {maxWidth: '82%', fontSize: '15px', lineHeight: '1.4', padding: '8px 12px', borderRadius: '14px'},
          },
          user: {bubble: {backgroundColor: BRAND, color: '#ffffff'}},
          ai: {bubble: {backgroundColor: '#f1f3f5', color: '#1d2125'}},
          agent: {bubble: {backgroundColor: '#e7f0fb', color: '#0b2545'}},
          system: {
            bubble: {
              backgroundColor: 'transparent', color: '#56606a', fontSize: '13px', fontStyle: 'italic', maxWidth: '100%',
            },
          },
        },
        html: {shared: {bubble: {backgroundColor: 'transparent', padding: '0', maxWidth: '100%'}}},
        image: {shared: {bubble: {backgroundColor: 'transparent', padding: '0', maxWidth: '60%'}}},
        // deep-chat places its three dots for its own padding; the shared bubble padding would shift them.
        loading: {
          message: {styles: {bubble: {padding: '0.75em 0.9em 0.75em 1.5em', backgroundColor: '#f1f3f5'}}},
        },
      },
      htmlClassUtilities: {
        'cc-choice': {
          events: {click: onChoice},
          styles: {
            default: {
              backgroundColor: '#ffffff', color: BRAND, border: `1px solid ${BRAND}`, borderRadius: '18px',
              paddingTop: '6px', paddingBottom: '6px', paddingLeft: '14px', paddingRight: '14px',
            },
            hover: {backgroundColor: '#e8f3ef'},
            click: {backgroundColor: '#d3e9e0'},
          },
        },
      },
      auxiliaryStyle: AUXILIARY_STYLE,
    });
    rendered = ready;
    return element;
  }

  async function startChat() {
    body.replaceChildren(el('div', {class: 'notice', text: TEXT.starting}));
    const session = await api('/widget/session', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({session: token}),
    });
    token = session.session;
    remember('localStorage', TOKEN_KEY, token);
    const history = await api('/widget/history', {headers: {[SESSION_HEADER]: token}});
    const messages = history.messages || [];
    let lastShipper = -1;
    messages.forEach((message, index) => {
      if (message.role === 'user') lastShipper = index;
    });
    const items = [];
    for (let index = 0; index < messages.length; index += 1) {
      // Buttons the shipper has answered since are shown, but no longer pressable.
      items.push(...(await toDeepChat(messages[index], index < lastShipper)));
    }
    lastId = messages.length ? messages[messages.length - 1].id : 0;
    await loadDeepChat();
    chat = createChat(items);
    body.replaceChildren(chat); // in the document before deep-chat renders, so it opens the connection
    await rendered;
  }

  function ensureChat() {
    if (!chatReady) {
      chatReady = startChat().catch((error) => {
        console.error('chat widget:', error);
        chatReady = null;
        chat = null;
        const retry = el('button', {class: 'retry', type: 'button', text: TEXT.retry});
        retry.addEventListener('click', () => ensureChat());
        body.replaceChildren(el('div', {class: 'notice'}, [el('p', {text: TEXT.startFailed}), retry]));
      });
    }
    return chatReady;
  }

  function restart() {
    token = null;
    remember('localStorage', TOKEN_KEY, null);
    chat = null;
    chatReady = null;
    lastId = 0;
    echoes = [];
    outbox.clear();
    typing = false;
    if (isOpen()) ensureChat();
    else body.replaceChildren();
  }

  async function ask(text) {
    await open();
    await connection.whenOpen();
    if (chat) chat.submitUserMessage({text: String(text)});
  }

  window.CarrierChat = {open, close, ask};

  function mount() {
    document.body.appendChild(host);
    updateLauncher();
    if (OPTIONS.open === 'true' || recall('sessionStorage', OPEN_KEY)) open();
    else if (token) ensureChat(); // a returning shipper: connect now, so an agent's reply shows as unread
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
