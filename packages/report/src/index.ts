/**
 * @hessian/report: terminal tables, Markdown reports and hand-written SVG figures of a
 * hessian-cluster Report. Imports only types from @hessian/analysis; no runtime dependencies.
 */
export { renderTable, alignColumns, type TableOptions } from './table.js';
export { renderMarkdown } from './markdown.js';
export {
  esdFigure,
  topEigenvalueFigure,
  traceFigure,
  similarityFigure,
  timeSeriesFigure,
  hasEsd,
  hasTop,
  hasTrace,
  hasSimilarity,
  gapAtFloor,
  type TimeSeries,
} from './figures.js';
export { writeReportDir, writeFileAtomic, reportFigures, makeDirs, checkWritableDir } from './write.js';
export { sweepFigures, sweepSubtitle, type SweepData, type SweepScopeSeries } from './sweep-figures.js';
export { renderSweepMarkdown } from './sweep-markdown.js';
export { fmtSig, fmtInt, fmtMeanErr, fmtSeconds } from './format.js';
export { lineChart, panel, type LineChartSeries, type LineChartOptions, type PlotSeries, type PanelOptions } from './chart.js';
export { niceTicks, niceStep, niceDomain, niceNum, decadeTicks, fmtTick } from './ticks.js';
export { esc, svgDoc } from './svg.js';
