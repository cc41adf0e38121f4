// Package rpcerr builds the gRPC statuses every service answers the same
// way: invalid requests with field details the gateway can show and
// translate, a missing caller identity, a service still starting up, and
// database failures. Messages are English and start with the service name
// so a log line or a client error says where it came from; they never carry
// SQL. Resource-specific answers (NotFound, PermissionDenied) stay with the
// handlers, which know what to name and what must not leak.
package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reasons are stable codes for a violation; the gateway translates them
// (Vietnamese by default), so they must not change once published. A service
// may use codes of its own; these are the ones several services share.
const (
	ReasonRequired      = "REQUIRED"
	ReasonTooLong       = "TOO_LONG"
	ReasonInvalidFormat = "INVALID_FORMAT"
	ReasonUnknownValue  = "UNKNOWN_VALUE"
)

// Violation is one broken rule of a request.
type Violation struct {
	// Field is the proto field name of the request ("meeting_id",
	// "choices[2]" for one element, zero-based, as in google.rpc.BadRequest),
	// so a client can point at the offending input.
	Field string
	// Reason is a stable upper-case code such as ReasonRequired.
	Reason string
	// Description is English, e.g. "must not be empty".
	Description string
}

// Invalid returns an InvalidArgument status whose BadRequest details name
// every violated field, so the gateway can mark them and translate the
// reasons. The message lists them in English after "<service>: invalid
// request: ".
func Invalid(service string, vs []Violation) error {
	br := &errdetails.BadRequest{}
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Reason: v.Reason, Description: v.Description,
		})
		parts = append(parts, v.Field+" "+v.Description)
	}
	st := status.New(codes.InvalidArgument, service+": invalid request: "+strings.Join(parts, "; "))
	// WithDetails fails only if the details cannot be marshalled, which a
	// BadRequest always can; the plain status still carries the message.
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// Caller returns the verified identity of the request, or Unauthenticated.
// The identity interceptor already refuses requests without one; checking
// again keeps a handler safe if it is ever served without that interceptor.
func Caller(ctx context.Context, service string) (identity.Claims, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return identity.Claims{}, status.Error(codes.Unauthenticated, service+": missing identity")
	}
	return c, nil
}

// CheckReady returns nil once ready is true, else Unavailable: until its
// schema is migrated a service answers this (clients retry) instead of
// leaking "relation does not exist".
func CheckReady(service string, ready bool) error {
	if !ready {
		return status.Error(codes.Unavailable, service+": starting up: database migrations have not finished; retry shortly")
	}
	return nil
}

// FromStore turns a failed database operation op (e.g. "GetMeeting") into
// a status without exposing SQL: a cancelled or expired request keeps its
// context code, an unreachable database is Unavailable (clients retry) and
// logged as a warning, anything else is logged as an error and reported as
// Internal. A nil log discards the records.
func FromStore(ctx context.Context, log *slog.Logger, service, op string, err error) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		log.WarnContext(ctx, "database unreachable", "op", op, "err", err)
		return status.Error(codes.Unavailable, service+": database unavailable; retry shortly")
	}
	log.ErrorContext(ctx, "database operation failed", "op", op, "err", err)
	return status.Error(codes.Internal, fmt.Sprintf("%s: internal error during %s", service, op))
}

// ErrHidden: another service of the suite, asked on the caller's behalf,
// would not show the caller what was asked for, or it does not exist (the
// two are not told apart).
var ErrHidden = errors.New("not visible to the caller")

// FromPeer turns the error of a call to another service of the suite (peer,
// e.g. "meetings"), made with the caller's forwarded identity, into this
// service's answer: nil for none; ErrHidden for NotFound, PermissionDenied
// and InvalidArgument; the caller's own cancellation or deadline;
// Unauthenticated when the peer refused the forwarded identity; anything
// else is logged and Unavailable, so clients retry rather than hear "not
// found". A nil log discards the record.
func FromPeer(ctx context.Context, log *slog.Logger, service, peer string, err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		return ErrHidden
	case codes.Canceled, codes.DeadlineExceeded:
		// The caller's own deadline or cancellation, which the call carried.
		return status.Errorf(status.Code(err), "%s: waiting for the %s service: %v", service, peer, status.Convert(err).Message())
	case codes.Unauthenticated:
		return status.Errorf(codes.Unauthenticated, "%s: the %s service refused the forwarded identity: %v", service, peer, status.Convert(err).Message())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.WarnContext(ctx, "a service of the suite did not answer", "peer", peer, "err", err)
	return status.Errorf(codes.Unavailable, "%s: the %s service is unavailable: %v", service, peer, status.Convert(err).Message())
}
