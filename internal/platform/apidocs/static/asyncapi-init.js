// Renders the AsyncAPI document named by the page (data-spec-url) with the
// AsyncAPI React component. Kept out of the page so that the
// Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var root = document.getElementById("asyncapi");
  if (!root || typeof AsyncApiStandalone === "undefined") {
    return;
  }
  AsyncApiStandalone.render({
    schema: {
      url: root.getAttribute("data-spec-url"),
      options: { method: "GET", credentials: "same-origin" }
    },
    config: {
      show: { sidebar: true, errors: true },
      sidebar: { showServers: "byDefault", showOperations: "byDefault" }
    }
  }, root);
})();
