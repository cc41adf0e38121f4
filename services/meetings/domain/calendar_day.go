package domain

import (
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// Vietnam is the time zone the product's days are counted in
// (Asia/Ho_Chi_Minh). Vietnam has kept UTC+7 without daylight saving since
// 1975, so a fixed zone is exact and needs no tz database in the image.
var Vietnam = time.FixedZone("ICT", 7*60*60)

// DayBounds returns the start of the Vietnamese calendar day holding t and
// the start of the next one.
func DayBounds(t time.Time) (time.Time, time.Time) {
	v := t.In(Vietnam)
	start := time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, Vietnam)
	return start, start.AddDate(0, 0, 1)
}

// PeriodBounds returns the range of start times a period covers at now:
// today is the current Vietnamese day, upcoming every later day, past every
// earlier one. A zero bound is open.
func PeriodBounds(p meetingsv1.Period, now time.Time) (from, to time.Time, err error) {
	today, tomorrow := DayBounds(now)
	switch p {
	case meetingsv1.Period_PERIOD_TODAY:
		return today, tomorrow, nil
	case meetingsv1.Period_PERIOD_UPCOMING:
		return tomorrow, time.Time{}, nil
	case meetingsv1.Period_PERIOD_PAST:
		return time.Time{}, today, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("unknown period %v", p)
}

// CheckInAllowed says whether participants may check in to a meeting in
// state s starting at startsAt: while it is in progress, or on its day (in
// Vietnam) while it is scheduled, since people arrive before the chair
// opens the meeting.
func CheckInAllowed(s State, startsAt, now time.Time) error {
	if err := Allowed(s, CheckIn); err != nil {
		return err
	}
	if s == StateScheduled {
		from, to := DayBounds(now)
		if startsAt.Before(from) || !startsAt.Before(to) {
			return &IllegalError{State: s, msg: "meeting is scheduled for " +
				startsAt.In(Vietnam).Format("02/01/2006") + "; check-in opens on the day of the meeting"}
		}
	}
	return nil
}
