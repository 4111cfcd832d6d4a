// What the site's pages add to the widgets (web/widgets/), which do everything else: the path
// asked for in the page's URL (?backend=auto|cpu|webgpu) and a backend select that follows the widget.
const params = new URLSearchParams(location.search);

/**
 * Gives the page's widgets the path its URL asks for, then defines the elements, so that each
 * loads once, on that path (a path set after the load began would load twice, and show "auto"
 * meanwhile). With a select, it shows that path, is disabled while the widget loads or switches,
 * and works again once the widget is ready or has failed.
 */
export async function startWidgets(widgets, select = null) {
  const backend = params.get("backend") || "auto";
  for (const widget of widgets) widget.setAttribute("backend", backend);
  if (select) bindBackendSelect(select, widgets[0], backend);
  await import("./embed.js");
}

function bindBackendSelect(select, widget, backend) {
  select.value = backend; // a value it does not offer (?backend=gpu) leaves it blank, not "auto"
  select.disabled = true;
  const settle = () => (select.disabled = false);
  widget.addEventListener("ready", settle);
  widget.addEventListener("error", settle); // a failed load or switch: pick another path
  select.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("backend", select.value);
    history.replaceState(null, "", url);
    select.disabled = true;
    widget.setAttribute("backend", select.value); // switches the loaded model, or loads it again
  });
}
