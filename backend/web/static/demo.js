/* The demo carrier page: the tracking box asks the chat widget (window.CarrierChat from widget.js). */
(function () {
  'use strict';

  const form = document.getElementById('track-form');
  const waybill = document.getElementById('waybill');
  const openChat = document.getElementById('open-chat');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = waybill.value.trim().toUpperCase();
    if (value && window.CarrierChat) window.CarrierChat.ask('where is ' + value);
  });
  openChat.addEventListener('click', () => window.CarrierChat && window.CarrierChat.open());
})();
