import { describe, expect, it } from 'vitest';
import { isFromWebviewMessage, isToWebviewMessage, MAX_WEBVIEW_PAYLOAD } from '../../common/protocol';

describe('host-side validation of webview messages', () => {
  it('accepts each well-formed message', () => {
    expect(isFromWebviewMessage({ type: 'ready' })).toBe(true);
    expect(isFromWebviewMessage({ type: 'rendered', id: 'x', ms: 12.5, charts: ['layers', 'tokens'] })).toBe(true);
    expect(isFromWebviewMessage({ type: 'exportChart', chart: 'tokens', format: 'svg', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' })).toBe(true);
    expect(isFromWebviewMessage({ type: 'exportChart', chart: 'layers', format: 'png', data: 'data:image/png;base64,iVBORw0KGgo=' })).toBe(true);
    expect(isFromWebviewMessage({ type: 'exportResult', format: 'csv' })).toBe(true);
  });

  it.each([
    ['not an object', 'ready'],
    ['null', null],
    ['unknown type', { type: 'readFile', path: '/etc/passwd' }],
    ['unknown chart', { type: 'exportChart', chart: '../../x', format: 'svg', data: '<svg/>' }],
    ['svg format with non-svg data', { type: 'exportChart', chart: 'layers', format: 'svg', data: '<script>alert(1)</script>' }],
    ['png format with non-png data', { type: 'exportChart', chart: 'layers', format: 'png', data: 'data:text/html;base64,AAAA' }],
    ['other format', { type: 'exportChart', chart: 'layers', format: 'exe', data: '<svg/>' }],
    ['oversized payload', { type: 'exportChart', chart: 'layers', format: 'svg', data: `<svg${' '.repeat(MAX_WEBVIEW_PAYLOAD)}` }],
    ['result format', { type: 'exportResult', format: 'xlsx' }],
    ['rendered without finite ms', { type: 'rendered', id: 'x', ms: Infinity, charts: [] }],
    ['rendered with a bad chart id', { type: 'rendered', id: 'x', ms: 1, charts: ['evil'] }],
  ])('rejects %s', (_name, msg) => {
    expect(isFromWebviewMessage(msg)).toBe(false);
  });

  it('lets the webview ignore malformed host messages', () => {
    expect(isToWebviewMessage({ type: 'busy', message: 'x' })).toBe(true);
    expect(isToWebviewMessage({ type: 'result', result: { layers: [] }, settings: {} })).toBe(true);
    expect(isToWebviewMessage({ type: 'result', result: {} })).toBe(false);
    expect(isToWebviewMessage({ type: 'error' })).toBe(false);
  });
});
