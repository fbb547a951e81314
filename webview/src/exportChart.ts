// Turns a rendered chart into a standalone SVG or PNG. The chart is styled by the theme's CSS
// variables, which mean nothing outside the webview, so resolved colours and fonts are inlined.
import { SVG_NS } from '../../common/charts/markup';

const INLINED = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'opacity', 'font-size', 'font-family', 'font-weight'];

export function serializeSvg(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const view = svg.ownerDocument.defaultView;
  if (view) {
    const src = [svg, ...svg.querySelectorAll('*')];
    const dst = [clone, ...clone.querySelectorAll('*')];
    src.forEach((el, i) => {
      const cs = view.getComputedStyle(el);
      const style = INLINED.map((p) => [p, cs.getPropertyValue(p)]).filter(([, v]) => v).map(([p, v]) => `${p}:${v}`);
      if (style.length) dst[i].setAttribute('style', style.join(';'));
    });
    const bg = view.getComputedStyle(svg.ownerDocument.body).getPropertyValue('background-color');
    if (bg) {
      const rect = svg.ownerDocument.createElementNS(SVG_NS, 'rect');
      rect.setAttribute('width', '100%');
      rect.setAttribute('height', '100%');
      rect.setAttribute('fill', bg);
      clone.insertBefore(rect, clone.firstChild);
    }
  }
  clone.setAttribute('xmlns', SVG_NS);
  return new XMLSerializer().serializeToString(clone);
}

/** Rasterizes at twice the CSS size (crisp on HiDPI) through an <img> of the SVG data URL (CSP: img-src data:). */
export function svgToPng(svg: SVGSVGElement, scale = 2): Promise<string> {
  const markup = serializeSvg(svg);
  const width = Number(svg.getAttribute('width'));
  const height = Number(svg.getAttribute('height'));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = width * scale;
      canvas.height = height * scale;
      const ctx = canvas.getContext('2d');
      if (!ctx) return reject(new Error('no 2D canvas'));
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, width, height);
      resolve(canvas.toDataURL('image/png'));
    };
    img.onerror = () => reject(new Error('the chart could not be rasterized'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(markup)}`;
  });
}
