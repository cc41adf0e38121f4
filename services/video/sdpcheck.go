package video

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// Stable reasons of SignalError (the session goes on after them).
const (
	ReasonInvalidSDP        = "INVALID_SDP"
	ReasonInvalidCandidate  = "INVALID_CANDIDATE"
	ReasonUnexpected        = "UNEXPECTED_MESSAGE"
	ReasonOfferCollision    = "OFFER_COLLISION"
	ReasonPublishNotAllowed = "PUBLISH_NOT_ALLOWED"
	ReasonAlreadyJoined     = "ALREADY_JOINED"
	ReasonTooManyTracks     = "TOO_MANY_TRACKS"
)

// maxSDPBytes bounds a session description; real ones are a few KiB.
const maxSDPBytes = 64 << 10

// signalError is a problem with one client message.
type signalError struct {
	reason, field, msg string
}

func (e *signalError) Error() string { return e.reason + ": " + e.msg }

func (e *signalError) proto() *videov1.SignalError {
	return &videov1.SignalError{Reason: e.reason, Message: e.msg, Field: e.field}
}

// sources of published tracks, as subscribers see them in the track id.
const (
	sourceMicrophone = "microphone"
	sourceCamera     = "camera"
	sourceScreen     = "screen"
)

// checkOffer parses a client's offer and refuses one that would publish
// what the join token does not allow. Only the direction counts: a client
// that only watches must offer its sections recvonly (or inactive), as
// browsers do for addTransceiver(kind, {direction: "recvonly"}).
func checkOffer(raw string, screenMids []string, perms *videov1.JoinPermissions) error {
	if strings.TrimSpace(raw) == "" {
		return &signalError{ReasonInvalidSDP, "description.sdp", "the offer is empty"}
	}
	if len(raw) > maxSDPBytes {
		return &signalError{ReasonInvalidSDP, "description.sdp", fmt.Sprintf("the offer is longer than %d bytes", maxSDPBytes)}
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return &signalError{ReasonInvalidSDP, "description.sdp", "the offer is not valid SDP: " + err.Error()}
	}
	if len(sd.MediaDescriptions) == 0 {
		return &signalError{ReasonInvalidSDP, "description.sdp",
			"the offer has no media sections; a client that only watches offers recvonly audio and video"}
	}
	// One microphone, one camera and one screen per participant: each
	// sending section becomes a track forwarded to every other tablet.
	sends := map[string]int{}
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 || !sending(md) {
			continue
		}
		mid, _ := md.Attribute("mid")
		var allowed bool
		var what string
		switch md.MediaName.Media {
		case "audio":
			allowed, what = perms.GetPublishAudio(), "audio"
		case "video":
			if slices.Contains(screenMids, mid) {
				allowed, what = perms.GetPublishScreen(), "a screen share"
			} else {
				allowed, what = perms.GetPublishVideo(), "video"
			}
		default:
			continue // data channels carry no media
		}
		if !allowed {
			return &signalError{ReasonPublishNotAllowed, "description.sdp", fmt.Sprintf(
				"media section %d (mid %q) sends %s, which your join token does not allow; offer it recvonly", i, mid, what)}
		}
		if sends[what]++; sends[what] > 1 {
			return &signalError{ReasonTooManyTracks, "description.sdp", fmt.Sprintf(
				"media section %d (mid %q) sends a second %s; a participant sends at most one microphone, one camera and one screen", i, mid, what)}
		}
	}
	return nil
}

// sending reports whether a media section sends from the offerer's side
// (sendrecv is the default when no direction is given).
func sending(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		case "sendonly", "sendrecv":
			return true
		}
	}
	return true
}

// mayPublish is the same rule for a track that arrived.
func mayPublish(perms *videov1.JoinPermissions, source string) bool {
	switch source {
	case sourceMicrophone:
		return perms.GetPublishAudio()
	case sourceCamera:
		return perms.GetPublishVideo()
	case sourceScreen:
		return perms.GetPublishScreen()
	}
	return false
}
