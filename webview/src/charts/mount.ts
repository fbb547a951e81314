// Puts chart markup from common/charts into the panel. The markup carries presentation attributes only
// (no style attribute), so the webview's CSP lets the parser build it; the theme's CSS styles it.
export function mountSvg(parent: HTMLElement, markup: string): SVGSVGElement {
  parent.insertAdjacentHTML('beforeend', markup);
  return parent.lastElementChild as SVGSVGElement;
}
