package domain

import (
	"slices"
	"testing"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/google/go-cmp/cmp"
)

const (
	moreThanHalf = votingv1.Majority_MAJORITY_MORE_THAN_HALF
	twoThirds    = votingv1.Majority_MAJORITY_TWO_THIRDS
)

func TestReachesIsExactIntegerArithmetic(t *testing.T) {
	for base := 0; base <= 60; base++ {
		for votes := 0; votes <= 60; votes++ {
			half := votes > 0 && votes*2 > base
			third := votes > 0 && votes*3 >= base*2
			if got := Reaches(moreThanHalf, votes, base); got != half {
				t.Errorf("more than half: %d of %d = %v, want %v", votes, base, got, half)
			}
			if got := Reaches(twoThirds, votes, base); got != third {
				t.Errorf("two thirds: %d of %d = %v, want %v", votes, base, got, third)
			}
			// Needed is the threshold Reaches uses.
			if (votes >= Needed(moreThanHalf, base)) != half {
				t.Errorf("Needed(more than half, %d) = %d disagrees at %d votes", base, Needed(moreThanHalf, base), votes)
			}
			if (votes >= Needed(twoThirds, base)) != third {
				t.Errorf("Needed(two thirds, %d) = %d disagrees at %d votes", base, Needed(twoThirds, base), votes)
			}
		}
	}
}

func TestMajorityBoundaries(t *testing.T) {
	tests := []struct {
		m           votingv1.Majority
		votes, base int
		want        bool
	}{
		{moreThanHalf, 8, 15, true},
		{moreThanHalf, 7, 15, false},
		{moreThanHalf, 7, 14, false}, // exactly half is not more than half
		{moreThanHalf, 8, 14, true},
		{twoThirds, 10, 15, true},
		{twoThirds, 9, 15, false},
		{twoThirds, 2, 3, true},
		{twoThirds, 6, 9, true}, // exactly two thirds
		{twoThirds, 5, 9, false},
		{twoThirds, 7, 10, true},
		{twoThirds, 6, 10, false}, // 60% < 66.7%: floats would not matter here, 6*3=18 < 20
		{twoThirds, 0, 0, false},  // nobody voting never passes
	}
	for _, tt := range tests {
		if got := Reaches(tt.m, tt.votes, tt.base); got != tt.want {
			t.Errorf("%v %d/%d = %v, want %v", tt.m, tt.votes, tt.base, got, tt.want)
		}
	}
}

func motion(rules Rules) Poll {
	return Poll{Kind: votingv1.PollKind_POLL_KIND_MOTION, Choices: MotionChoices(), Rules: rules}
}

var defaultMotionRules = Rules{2, 3, moreThanHalf, votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}

func ballots(choices ...[]string) []Ballot {
	out := make([]Ballot, len(choices))
	for i, c := range choices {
		out[i] = Ballot{Choices: c, Valid: true}
	}
	return out
}

func repeat(n int, choice ...string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = choice
	}
	return out
}

func motionBallots(agree, disagree, abstain int) []Ballot {
	return ballots(slices.Concat(repeat(agree, ChoiceAgree), repeat(disagree, ChoiceDisagree), repeat(abstain, ChoiceAbstain))...)
}

func TestMotionPassesWithMoreThanHalfOfAllMembers(t *testing.T) {
	r := Count(motion(defaultMotionRules), Roll{Members: 15, Present: 15, ElectionBase: 15, Entitled: 15}, motionBallots(8, 5, 2))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || r.GetBase() != 15 || r.GetNeeded() != 8 || !r.GetQuorumReached() {
		t.Errorf("result %v", r)
	}
	want := "Thông qua: 8 tán thành, 5 không tán thành, 2 không biểu quyết; cần quá nửa tổng số đảng viên (8/15)"
	if r.GetSummary() != want {
		t.Errorf("summary %q\nwant     %q", r.GetSummary(), want)
	}
	if r.GetRule() != "quá nửa tổng số đảng viên (8/15)" {
		t.Errorf("rule %q", r.GetRule())
	}
}

func TestMotionFailsWithAMajorityOfVotesButNotOfMembers(t *testing.T) {
	// 7 of 10 ballots agree, but the Charter counts against all 15 members.
	r := Count(motion(defaultMotionRules), Roll{Members: 15, Present: 10, ElectionBase: 15, Entitled: 10}, motionBallots(7, 3, 0))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_FAILED {
		t.Errorf("outcome %v, want FAILED: %s", r.GetOutcome(), r.GetSummary())
	}
	if want := "Không thông qua: 7 tán thành, 3 không tán thành, 0 không biểu quyết; cần quá nửa tổng số đảng viên (8/15)"; r.GetSummary() != want {
		t.Errorf("summary %q", r.GetSummary())
	}
	// Against the valid votes it passes.
	rules := defaultMotionRules
	rules.Base = votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES
	if r := Count(motion(rules), Roll{Members: 15, Present: 10, Entitled: 10}, motionBallots(7, 3, 0)); r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || r.GetBase() != 10 {
		t.Errorf("valid-votes base: %v", r)
	}
	// Two thirds of those present: 7 of 10 passes, 6 does not.
	rules = Rules{2, 3, twoThirds, votingv1.MajorityBase_MAJORITY_BASE_PRESENT}
	if r := Count(motion(rules), Roll{Members: 15, Present: 10, Entitled: 10}, motionBallots(7, 3, 0)); r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("two thirds present, 7/10: %v", r.GetOutcome())
	}
	if r := Count(motion(rules), Roll{Members: 15, Present: 10, Entitled: 10}, motionBallots(6, 4, 0)); r.GetOutcome() != votingv1.Outcome_OUTCOME_FAILED || r.GetNeeded() != 7 {
		t.Errorf("two thirds present, 6/10: %v needed %d", r.GetOutcome(), r.GetNeeded())
	}
}

func TestQuorum(t *testing.T) {
	// 2/3 of 15 is 10 present.
	r := Count(motion(defaultMotionRules), Roll{Members: 15, Present: 9, Entitled: 9}, motionBallots(9, 0, 0))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_NO_QUORUM || r.GetQuorumReached() {
		t.Errorf("9 of 15 present: %v", r)
	}
	if want := "Không đủ số đảng viên có mặt để biểu quyết: có mặt 9/15, cần ít nhất 10"; r.GetSummary() != want {
		t.Errorf("summary %q", r.GetSummary())
	}
	r = Count(motion(defaultMotionRules), Roll{Members: 15, Present: 10, Entitled: 10}, motionBallots(9, 0, 0))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || !r.GetQuorumReached() {
		t.Errorf("10 of 15 present: %v", r)
	}
	// 0/1: no quorum needed.
	rules := defaultMotionRules
	rules.QuorumNum, rules.QuorumDen = 0, 1
	if r := Count(motion(rules), Roll{Members: 15, Present: 0}, motionBallots(8, 0, 0)); !r.GetQuorumReached() || r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED {
		t.Errorf("no quorum rule: %v", r)
	}
	if !QuorumReached(Rules{QuorumNum: 1, QuorumDen: 2}, 10, 5) || QuorumReached(Rules{QuorumNum: 1, QuorumDen: 2}, 11, 5) {
		t.Error("half: 5 of 10 reaches, 5 of 11 does not")
	}
}

func election(candidates, seats int) Poll {
	var cs []Choice
	for i := range candidates {
		cs = append(cs, Choice{ID: string(rune('a' + i)), Label: "Ứng viên " + string(rune('A'+i))})
	}
	return Poll{Kind: votingv1.PollKind_POLL_KIND_ELECTION, Choices: cs, Seats: seats,
		Rules: Rules{2, 3, moreThanHalf, votingv1.MajorityBase_MAJORITY_BASE_ELECTION}}
}

func cast(p Poll, choices ...[]string) []Ballot {
	out := make([]Ballot, len(choices))
	for i, c := range choices {
		out[i] = Ballot{Choices: c, Valid: p.Valid(c)}
	}
	return out
}

func TestElectionBallotValidity(t *testing.T) {
	surplus := election(3, 2)
	for _, tt := range []struct {
		kept []string
		want bool
	}{
		{[]string{"a"}, true}, {[]string{"a", "b"}, true},
		{[]string{"a", "b", "c"}, false}, // more names kept than seats
		{nil, false},                     // every name struck out
	} {
		if got := surplus.Valid(tt.kept); got != tt.want {
			t.Errorf("surplus, kept %v: valid %v, want %v", tt.kept, got, tt.want)
		}
		// Accepted when cast: counted as invalid, not refused.
		if vs := surplus.CheckBallot(tt.kept); len(vs) != 0 {
			t.Errorf("surplus, kept %v refused: %v", tt.kept, vs)
		}
	}
	// Without a surplus each name is agreed or disagreed with: disagreeing
	// with every one is a valid ballot.
	noSurplus := election(2, 2)
	if !noSurplus.Valid(nil) || !noSurplus.Valid([]string{"a", "b"}) {
		t.Error("no surplus: every ballot is valid")
	}
}

func TestElectionWithSurplus(t *testing.T) {
	p := election(3, 2)
	// Base 10: 6 needed. a 7, b 6, c 3; two invalid ballots.
	bs := cast(p,
		[]string{"a", "b"}, []string{"a", "b"}, []string{"a", "b"}, []string{"a", "b"}, []string{"a", "b"},
		[]string{"a", "c"}, []string{"a", "c"}, []string{"b", "c"},
		[]string{"a", "b", "c"}, nil)
	r := Count(p, Roll{Members: 11, Present: 10, ElectionBase: 10, Entitled: 10}, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_ELECTED {
		t.Fatalf("outcome %v: %s", r.GetOutcome(), r.GetSummary())
	}
	if diff := cmp.Diff([]string{"a", "b"}, r.GetElectedChoiceIds()); diff != "" {
		t.Errorf("elected (-want +got):\n%s", diff)
	}
	if r.GetBallotsCast() != 10 || r.GetValidBallots() != 8 || r.GetInvalidBallots() != 2 || r.GetBase() != 10 || r.GetNeeded() != 6 {
		t.Errorf("figures %v", r)
	}
	counts := map[string]int32{}
	for _, c := range r.GetCounts() {
		counts[c.GetChoiceId()] = c.GetCount()
		if c.GetAgainst() != 0 {
			t.Errorf("against is for elections without surplus: %v", c)
		}
	}
	if diff := cmp.Diff(map[string]int32{"a": 7, "b": 6, "c": 3}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	want := "Kết quả bầu cử: 10 phiếu thu về, 8 hợp lệ, 2 không hợp lệ; trúng cử: Ứng viên A (7 phiếu), Ứng viên B (6 phiếu); " +
		"cần quá nửa số đảng viên được triệu tập (trừ người vắng mặt có lý do, được miễn sinh hoạt) (6/10)"
	if r.GetSummary() != want {
		t.Errorf("summary %q\nwant     %q", r.GetSummary(), want)
	}
}

func TestElectionBaseIsNotBallotsCast(t *testing.T) {
	// 6 of 7 ballots keep b, but the base is 13: 6*2 = 12 is not > 13.
	p := election(3, 1)
	bs := cast(p, repeat(6, "b")...)
	bs = append(bs, cast(p, []string{"a"})...)
	r := Count(p, Roll{Members: 14, Present: 10, ElectionBase: 13, Entitled: 10}, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_SEATS_UNFILLED || len(r.GetElectedChoiceIds()) != 0 || r.GetNeeded() != 7 {
		t.Errorf("outcome %v elected %v needed %d: %s", r.GetOutcome(), r.GetElectedChoiceIds(), r.GetNeeded(), r.GetSummary())
	}
}

func TestElectionWithoutSurplus(t *testing.T) {
	p := election(2, 2)
	// 5 valid ballots, base 5 (3 needed): a agreed by 4, b by 2.
	bs := cast(p, []string{"a", "b"}, []string{"a", "b"}, []string{"a"}, []string{"a"}, nil)
	r := Count(p, Roll{Members: 5, Present: 5, ElectionBase: 5, Entitled: 5}, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_SEATS_UNFILLED {
		t.Errorf("outcome %v: %s", r.GetOutcome(), r.GetSummary())
	}
	if diff := cmp.Diff([]string{"a"}, r.GetElectedChoiceIds()); diff != "" {
		t.Errorf("elected (-want +got):\n%s", diff)
	}
	for _, c := range r.GetCounts() {
		want := map[string][2]int32{"a": {4, 1}, "b": {2, 3}}[c.GetChoiceId()]
		if c.GetCount() != want[0] || c.GetAgainst() != want[1] {
			t.Errorf("%s: %d for, %d against; want %v", c.GetChoiceId(), c.GetCount(), c.GetAgainst(), want)
		}
	}
	if r.GetInvalidBallots() != 0 {
		t.Errorf("invalid %d, want 0", r.GetInvalidBallots())
	}
}

func TestElectionMostVotesWinAndTiesGoToRunoff(t *testing.T) {
	p := election(4, 2)
	roll := Roll{Members: 10, Present: 10, ElectionBase: 10, Entitled: 10}
	// Base 10, 6 needed: a 9, b 8, c 7 all pass; two seats: a and b.
	bs := cast(p, slices.Concat(repeat(7, "a", "b"), [][]string{{"a", "c"}, {"a", "c"}, {"b", "c"}}, repeat(4, "c"))...)
	r := Count(p, roll, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_ELECTED || !slices.Equal(r.GetElectedChoiceIds(), []string{"a", "b"}) {
		t.Errorf("most votes: %v %v: %s", r.GetOutcome(), r.GetElectedChoiceIds(), r.GetSummary())
	}
	// a 10, b 7, c 7: b and c tie for the last seat.
	bs = cast(p, slices.Concat(repeat(7, "a", "b"), repeat(3, "a", "c"), repeat(4, "c"))...)
	r = Count(p, Roll{Members: 14, Present: 14, ElectionBase: 10, Entitled: 14}, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_RUNOFF {
		t.Fatalf("tie: outcome %v: %s", r.GetOutcome(), r.GetSummary())
	}
	if !slices.Equal(r.GetElectedChoiceIds(), []string{"a"}) || !slices.Equal(r.GetTiedChoiceIds(), []string{"b", "c"}) {
		t.Errorf("tie: elected %v tied %v", r.GetElectedChoiceIds(), r.GetTiedChoiceIds())
	}
	want := "Kết quả bầu cử: 14 phiếu thu về, 14 hợp lệ, 0 không hợp lệ; trúng cử: Ứng viên A (10 phiếu); " +
		"phải bầu lại giữa: Ứng viên B, Ứng viên C (cùng 7 phiếu) cho 1 chỗ còn lại; " +
		"cần quá nửa số đảng viên được triệu tập (trừ người vắng mặt có lý do, được miễn sinh hoạt) (6/10)"
	if r.GetSummary() != want {
		t.Errorf("summary %q\nwant     %q", r.GetSummary(), want)
	}
	// A tie that fits the seats is no runoff: a and b tie at 8 for 2 seats.
	p = election(3, 2)
	bs = cast(p, slices.Concat(repeat(8, "a", "b"), repeat(2, "c"))...)
	if r := Count(p, roll, bs); r.GetOutcome() != votingv1.Outcome_OUTCOME_ELECTED || len(r.GetTiedChoiceIds()) != 0 {
		t.Errorf("tie within the seats: %v tied %v", r.GetOutcome(), r.GetTiedChoiceIds())
	}
	// Everyone passing ties for one seat.
	p = election(3, 1)
	bs = cast(p, slices.Concat(repeat(6, "a"), repeat(6, "b"))...)
	r = Count(p, Roll{Members: 10, Present: 10, ElectionBase: 10, Entitled: 10}, bs)
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_RUNOFF || len(r.GetElectedChoiceIds()) != 0 || !slices.Equal(r.GetTiedChoiceIds(), []string{"a", "b"}) {
		t.Errorf("all tie: %v elected %v tied %v", r.GetOutcome(), r.GetElectedChoiceIds(), r.GetTiedChoiceIds())
	}
}

func TestElectionNoQuorum(t *testing.T) {
	p := election(3, 2)
	r := Count(p, Roll{Members: 15, Present: 5, ElectionBase: 15, Entitled: 5}, cast(p, repeat(5, "a", "b")...))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_NO_QUORUM || len(r.GetElectedChoiceIds()) != 0 {
		t.Errorf("%v %v", r.GetOutcome(), r.GetElectedChoiceIds())
	}
}

func singleChoice(rules Rules) Poll {
	cs, _ := Choices(votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, []string{"Phương án A", "Phương án B", "Phương án C"})
	return Poll{Kind: votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, Choices: cs, Rules: rules}
}

func TestPlurality(t *testing.T) {
	p := singleChoice(Rules{QuorumNum: 0, QuorumDen: 1})
	roll := Roll{Members: 10, Present: 10, Entitled: 10}
	r := Count(p, roll, ballots(slices.Concat(repeat(4, "c1"), repeat(4, "c2"), repeat(2, "c3"))...))
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_PLURALITY || !slices.Equal(r.GetTopChoiceIds(), []string{"c1", "c2"}) {
		t.Errorf("tie at the top: %v %v", r.GetOutcome(), r.GetTopChoiceIds())
	}
	if want := "Nhiều phiếu nhất: Phương án A, Phương án B (4 phiếu); Phương án A: 4, Phương án B: 4, Phương án C: 2"; r.GetSummary() != want {
		t.Errorf("summary %q", r.GetSummary())
	}
	// With a majority of the valid votes: 6 of 10 passes, 5 does not.
	p = singleChoice(Rules{0, 1, moreThanHalf, votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES})
	if r := Count(p, roll, ballots(slices.Concat(repeat(6, "c1"), repeat(4, "c2"))...)); r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED ||
		!slices.Equal(r.GetTopChoiceIds(), []string{"c1"}) {
		t.Errorf("6/10: %v %v", r.GetOutcome(), r.GetTopChoiceIds())
	}
	if r := Count(p, roll, ballots(slices.Concat(repeat(5, "c1"), repeat(5, "c2"))...)); r.GetOutcome() != votingv1.Outcome_OUTCOME_FAILED {
		t.Errorf("5/10 tie: %v", r.GetOutcome())
	}
	if r := Count(p, roll, nil); r.GetOutcome() != votingv1.Outcome_OUTCOME_FAILED || len(r.GetTopChoiceIds()) != 0 {
		t.Errorf("no ballots: %v %v", r.GetOutcome(), r.GetTopChoiceIds())
	}
}

func TestCheckBallot(t *testing.T) {
	multi, _ := Choices(votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, []string{"A", "B", "C", "D"})
	tests := []struct {
		name    string
		p       Poll
		choices []string
		want    []string
	}{
		{"motion", motion(defaultMotionRules), []string{"agree"}, nil},
		{"motion, none", motion(defaultMotionRules), nil, []string{"choice_ids:REQUIRED"}},
		{"motion, two", motion(defaultMotionRules), []string{"agree", "abstain"}, []string{"choice_ids:TOO_MANY"}},
		{"not on the ballot", motion(defaultMotionRules), []string{"yes"}, []string{"choice_ids[0]:UNKNOWN_VALUE"}},
		{"twice", singleChoice(Rules{}), []string{"c1", "c1"}, []string{"choice_ids[1]:DUPLICATE"}},
		{"multiple ok", Poll{Kind: votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, Choices: multi, Min: 2, Max: 3}, []string{"c1", "c4"}, nil},
		{"multiple too few", Poll{Kind: votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, Choices: multi, Min: 2, Max: 3}, []string{"c1"}, []string{"choice_ids:TOO_FEW"}},
		{"multiple too many", Poll{Kind: votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, Choices: multi, Min: 2, Max: 3}, []string{"c1", "c2", "c3", "c4"}, []string{"choice_ids:TOO_MANY"}},
		{"election keeps all", election(3, 1), []string{"a", "b", "c"}, nil},
		{"election unknown", election(3, 1), []string{"z"}, []string{"choice_ids[0]:UNKNOWN_VALUE"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, fields(tt.p.CheckBallot(tt.choices))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestCountHands(t *testing.T) {
	p := Poll{Kind: votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, Choices: MotionChoices(), Rules: defaultMotionRules}
	r := CountHands(p, Roll{Members: 9, Present: 9, Entitled: 9}, map[string]int{"agree": 5, "disagree": 3, "abstain": 1})
	if r.GetOutcome() != votingv1.Outcome_OUTCOME_PASSED || r.GetBallotsCast() != 9 || r.GetValidBallots() != 9 {
		t.Errorf("%v", r)
	}
	if want := "Thông qua: 5 tán thành, 3 không tán thành, 1 không biểu quyết; cần quá nửa tổng số đảng viên (5/9)"; r.GetSummary() != want {
		t.Errorf("summary %q", r.GetSummary())
	}
}

func TestParseQuorumRule(t *testing.T) {
	for in, want := range map[string][3]int{"2/3": {2, 3, 1}, " 1/2 ": {1, 2, 1}, "3/2": {}, "0/3": {}, "x/3": {}, "": {}, "2": {}} {
		n, d, ok := ParseQuorumRule(in)
		if got := [3]int{n, d, map[bool]int{true: 1}[ok]}; got != want {
			t.Errorf("ParseQuorumRule(%q) = %v, want %v", in, got, want)
		}
	}
}
