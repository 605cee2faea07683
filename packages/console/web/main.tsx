import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./views/App.js";
import { Guard } from "./views/Guard.js";

render(
  <Guard
    fallback={(message) => (
      <main class="login">
        <p class="bad" role="alert">
          The console stopped: {message}. Reload the page to start it again.
        </p>
      </main>
    )}
  >
    <App />
  </Guard>,
  document.getElementById("app") as HTMLElement,
);
