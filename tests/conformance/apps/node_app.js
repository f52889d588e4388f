// The conformance app on the official Node.js client (ari-client, pinned in
// tests/interop/package.json): answer, play sound:press-1, on a key stop it and play
// digits:<key>, when that has played hang up. One JSON line per step on stdout.
// Connection from the environment: ARI_URL, ARI_USER, ARI_PASSWORD.
'use strict';

const ari = require('ari-client');

function say(fields) {
  process.stdout.write(JSON.stringify(fields) + '\n');
}

ari.connect(process.env.ARI_URL, process.env.ARI_USER, process.env.ARI_PASSWORD)
  .then(function (client) {
    client.on('StasisStart', function (event, objs) {
      // ari-client promotes the Channel fields the event carries: one -> the object
      const isChannel = objs !== undefined && typeof objs.answer === 'function';
      const channel = isChannel ? objs : objs.channel;
      say({step: 'StasisStart', handover: isChannel ? 'Channel' : 'dict',
           keys: isChannel ? null : Object.keys(objs).sort()});
      const prompt = client.Playback();
      channel.answer()
        .then(function () {
          say({step: 'answered'});
          return channel.play({media: 'sound:press-1'}, prompt);
        })
        .catch(function (err) { say({step: 'error', message: String(err)}); });
      channel.once('ChannelDtmfReceived', function (dtmf) {
        say({step: 'dtmf', digit: dtmf.digit});
        const digits = client.Playback();
        digits.once('PlaybackFinished', function () {
          say({step: 'played', media: 'digits:' + dtmf.digit});
          channel.hangup().then(function () { say({step: 'hungup'}); });
        });
        prompt.stop()
          .then(function () { return channel.play({media: 'digits:' + dtmf.digit}, digits); })
          .catch(function (err) { say({step: 'error', message: String(err)}); });
      });
    });
    return client.start('channel-aa');
  })
  .then(function () { say({step: 'ready'}); })
  .catch(function (err) {
    say({step: 'error', message: String(err)});
    process.exit(1);
  });
