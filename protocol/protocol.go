// Package protocol holds the names of docs/protocol.md that more than one
// part of StreamViz must spell the same way: NATS subjects and stream names,
// the stored log's headers, WebSocket close codes and event types, and the
// reasons an update is refused, whose texts are also their metric labels.
// The broker, the gateway and the tests take them from here; the page's
// copies (web/connection.js) are checked against them by a test.
package protocol

import "errors"

// Subjects publishers use (docs/protocol.md §1).
const (
	// SubjectPrefix starts every widget subject: sv.<widget>.config and sv.<widget>.data.
	SubjectPrefix = "sv."
	// SubjectWildcard is every publisher subject.
	SubjectWildcard = SubjectPrefix + ">"
	// KindConfig and KindData are the last token of a widget subject.
	KindConfig = "config"
	KindData   = "data"
	// KindRows is Pathway's own output: rows folded by the gateway (gateway/rows.go).
	KindRows = "rows"
	// DashboardID is the pseudo-widget of the dashboard's title and theme
	// (sv.$dashboard.config); it cannot clash with a widget id.
	DashboardID = "$dashboard"
	// IngestQueue is the queue group of the gateways' subscriptions to
	// sv.>: with several gateways on one bus, each update is taken once.
	IngestQueue = "sv-ingest"
	// InboxPrefix is where every NATS client's replies arrive by default:
	// the only reply subjects the gateway answers on.
	InboxPrefix = "_INBOX."
	// GatewayInbox is the gateway's own reply prefix, out of publishers' reach.
	GatewayInbox = "_SV_GW"
	// ResponsePrefix starts the reply subjects NATS gives a request that
	// crossed from a publisher's account into the gateway's (a service
	// import): an answer there goes back to the requester's account only.
	ResponsePrefix = "_R_."
	// IngestPrefix starts the subjects under which the embedded bus hands
	// the gateway each --nats-auth user's updates: svin.<n>.<widget>.<kind>,
	// in the gateway's account only (docs/protocol.md §7).
	IngestPrefix = "svin."
)

// ColumnsMagic starts a columnar chart update (docs/protocol.md §1.7): a
// data message whose payload begins with these 4 bytes (never the start of
// a JSON object) carries its points as little-endian float64 columns.
const ColumnsMagic = "SVC1"

// TableColumnsMagic starts a columnar table update (docs/protocol.md §1.8):
// many rows as columns (numbers as int64 or float64, other values as JSON).
const TableColumnsMagic = "SVT1"

// A browser socket opened with ?binary=1 (docs/protocol.md §2.4) gets the
// frames that carry columnar events as binary WebSocket messages: FrameMagic,
// the JSON text's length, the JSON array of events, then the columns' raw
// bytes, each columnar event naming where its own start ("at").
const (
	BinaryParam = "binary"
	FrameMagic  = "SVB1"
)

// Subject returns sv.<widget>.<kind>.
func Subject(widget, kind string) string { return SubjectPrefix + widget + "." + kind }

// Streams and their subjects (docs/protocol.md §5).
const (
	// LogStream is the update log; only the gateway writes it.
	LogStream = "SV"
	// SnapshotStream holds each widget's newest state.
	SnapshotStream = "SV_SNAP"
	// EpochKey is the log stream's metadata entry naming its epoch.
	EpochKey = "streamviz_epoch"
	// LogPrefix starts the log's subjects.
	LogPrefix = "svlog."
	// LogBatchSubject is the subject of a stored batch of updates.
	LogBatchSubject = LogPrefix + "batch"
	// SnapshotPrefix starts the snapshot subjects: svsnap.<widget>.<part>.
	SnapshotPrefix = "svsnap."
	// SnapshotWildcard is every snapshot subject.
	SnapshotWildcard = SnapshotPrefix + ">"
)

// Headers of stored messages (docs/protocol.md §5).
const (
	// HeaderPos is the position a snapshot reflects.
	HeaderPos = "Sv-Pos"
	// HeaderGen is what snapshots from before batches carry instead: a stream sequence.
	HeaderGen = "Sv-Gen"
	// HeaderPart and HeaderParts number a snapshot's chunks.
	HeaderPart  = "Sv-Part"
	HeaderParts = "Sv-Parts"
	// HeaderMsgID is a publisher's Nats-Msg-Id on an update stored alone.
	HeaderMsgID = "Sv-Msg-Id"
)

// WebSocket close codes (docs/protocol.md §2.3).
const (
	// CloseGoingAway: the server is shutting down (RFC 6455).
	CloseGoingAway = 1001
	// ClosePolicy: a bad request (?widget=, ?seq=) or a client that talks too much (RFC 6455).
	ClosePolicy = 1008
	// CloseSlow: the socket fell behind; resume at once from the position held.
	CloseSlow = 4000
	// CloseExpired: the signed embed link expired; retrying cannot help.
	CloseExpired = 4001
)

// Event types the server sends a socket (docs/protocol.md §2.2).
const (
	EventSnapshot = "snapshot"
	EventResumed  = "resumed"
	EventConfig   = "config"
	EventData     = "data"
	EventTitle    = "title"
	// EventRemove drops a widget: a removal was published (§1.2).
	EventRemove = "remove"
)

// Why an update is refused. Every rejection wraps one of these, and its
// text is the update's label in streamviz_updates_rejected_total{reason}.
var (
	ErrBadBatch   = errors.New("malformed batch")
	ErrBadSubject = errors.New("bad subject")
	ErrBadID      = errors.New("bad widget id")
	ErrBadJSON    = errors.New("bad JSON")
	ErrTooLarge   = errors.New("message too large")
	ErrTooDeep    = errors.New("message nested too deeply")
	ErrBadShape   = errors.New("bad shape")
	ErrWrongType  = errors.New("data does not fit the widget's type")
	ErrTableFull  = errors.New("table row limit reached")
	// State limits (docs/protocol.md §1.3).
	ErrTooManyWidgets = errors.New("widget limit reached")
	ErrTooManySeries  = errors.New("series limit reached")
	ErrWidgetBytes    = errors.New("widget byte limit reached")
	ErrStateBytes     = errors.New("state byte limit reached")
	// ErrNoWidget refuses a removal of a widget that does not exist (§1.2).
	ErrNoWidget = errors.New("no such widget")
)

// RejectReasons is every reason above: the one list the metric labels come from.
var RejectReasons = []error{ErrBadBatch, ErrBadSubject, ErrBadID, ErrBadJSON, ErrTooLarge, ErrTooDeep, ErrBadShape,
	ErrWrongType, ErrTableFull, ErrTooManyWidgets, ErrTooManySeries, ErrWidgetBytes, ErrStateBytes, ErrNoWidget}

// ReasonOther labels a rejection that wraps none of RejectReasons.
const ReasonOther = "other"

// RejectReason is err's metric label: the text of the first reason it wraps.
func RejectReason(err error) string {
	for _, e := range RejectReasons {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ReasonOther
}
