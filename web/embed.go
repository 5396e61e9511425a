// Package web holds the dashboard's browser code, embedded in the binary so
// the server works offline and needs no build step.
package web

import "embed"

// FS holds index.html, embed.html, the ES modules, the styles and vendored uPlot.
//
//go:embed *.html *.js *.css widgets vendor/uplot
var FS embed.FS
