import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./views/App.js";

render(<App />, document.getElementById("app") as HTMLElement);
