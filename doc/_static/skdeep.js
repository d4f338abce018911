// Long dotted API names (skdeep.decomposition.activations_to_events) may break
// after a dot: a <wbr> after each dot of the page title and the navigation
// links. Copying the text is unchanged; skdeep.css still wraps what remains.
document.addEventListener("DOMContentLoaded", () => {
  const selector = ".bd-article h1, .bd-sidebar-primary a, .bd-toc-nav a";
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
      if (/\.\w/.test(walker.currentNode.nodeValue)) texts.push(walker.currentNode);
    }
    for (const text of texts) {
      const parts = text.nodeValue.split(/(?<=\.)(?=\w)/);
      const fragment = document.createDocumentFragment();
      parts.forEach((part, i) => {
        if (i > 0) fragment.appendChild(document.createElement("wbr"));
        fragment.appendChild(document.createTextNode(part));
      });
      text.replaceWith(fragment);
    }
  }
});
