// One shared tooltip for every chart, driven by one delegated listener per chart (a heatmap can have
// 14,000 cells). `tipFor` names the hovered element's exact value; by default its `data-tip`.
export type TipResolver = (el: Element) => string | null;

const byAttribute: TipResolver = (el) => el.closest('[data-tip]')?.getAttribute('data-tip') ?? null;

export function attachTooltip(chart: Element, tooltip: HTMLElement, tipFor: TipResolver = byAttribute): void {
  chart.addEventListener('mouseover', (e) => {
    const text = e.target instanceof Element ? tipFor(e.target) : null;
    if (text === null) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = text;
    tooltip.hidden = false;
  });
  chart.addEventListener('mousemove', (e) => {
    const me = e as MouseEvent;
    tooltip.style.left = `${me.clientX + 12}px`;
    tooltip.style.top = `${me.clientY + 12}px`;
  });
  chart.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
  });
}

export function createTooltip(doc: Document): HTMLElement {
  const tip = doc.createElement('div');
  tip.className = 'tooltip';
  tip.setAttribute('role', 'tooltip');
  tip.hidden = true;
  return tip;
}
