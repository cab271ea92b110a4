// The demo page's words for a call joined without camera or microphone (web/mediaNotice.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingMediaText } from '../../../web/mediaNotice.ts';

const error = (name: string) => Object.assign(new Error(name), { name });

void describe('missing media notice', () => {
  void it('says nothing when both are sent', () => {
    assert.equal(missingMediaText(true, true, []), null);
  });

  void it('blocked camera and microphone: watching only, and how to allow them', () => {
    const text = missingMediaText(false, false, [error('NotAllowedError'), error('NotAllowedError')]);
    assert.match(text!, /browser blocks your camera and microphone for this page, so you are watching only/);
    assert.match(text!, /watching only/);
    assert.match(text!, /Allow them from the icon in the address bar/);
  });

  void it('a camera in use elsewhere: heard, not seen, close the other application', () => {
    const text = missingMediaText(true, false, [error('NotReadableError')]);
    assert.match(text!, /camera could not be started/);
    assert.match(text!, /hear you but do not see you/);
    assert.match(text!, /Close the other application/);
  });

  void it('no microphone found: seen, not heard, nothing to allow', () => {
    const text = missingMediaText(false, true, [error('NotFoundError')]);
    assert.match(text!, /^No microphone was found, so the others see you but do not hear you\.$/);
  });
});
