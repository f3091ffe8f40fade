import {
  ArcElement,
  Chart,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from "chart.js";

// Only the Chart.js pieces the dashboard draws: lines on linear axes (time as epoch ms, steps),
// the loss on a log axis when asked, and one doughnut. Imported by every chart component;
// registering twice is harmless.
Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Filler, DoughnutController, ArcElement, Legend, Tooltip);
Chart.defaults.font.family = 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
Chart.defaults.font.size = 12;

export { Chart };
