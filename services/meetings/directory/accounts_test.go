package directory

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

const goodPassword = "mật khẩu đủ dài 2026"

// accountWorld has a tree (bloc -> grassroots committee -> two cells) and
// An, a member of cell A who administers the grassroots committee.
type accountWorld struct {
	*world
	top, grass, cellA, cellB string
	an                       string
}

func newAccountWorld(t *testing.T) accountWorld {
	w := newWorld(t)
	top := w.org(t, "", "Đảng bộ Khối", bloc)
	grass := w.org(t, top, "Đảng bộ VNPT Yên Bái", grass)
	aw := accountWorld{world: w, top: top, grass: grass,
		cellA: w.cell(t, grass, "Chi bộ VNPT Văn Yên"), cellB: w.cell(t, grass, "Chi bộ Kỹ thuật")}
	aw.an = w.person(t, "Nguyễn Văn An", "")
	w.member(t, aw.an, aw.cellA)
	aw.account(t, aw.an, "an.nguyen", goodPassword, nil, []string{grass})
	return aw
}

func (w *world) account(t *testing.T, person, username, password string, roles, adminOrgs []string) *meetingsv1.Principal {
	t.Helper()
	r, err := w.acc.CreateAccount(testenv.As(sysAdmin()), &meetingsv1.CreateAccountRequest{PersonId: person, Username: username,
		Password: password, Roles: roles, AdminOrganizationIds: adminOrgs})
	if err != nil {
		t.Fatalf("CreateAccount %s: %v", username, err)
	}
	return r.GetPrincipal()
}

func (w *world) login(username, password, addr string) (*meetingsv1.LoginResponse, error) {
	return w.acc.Login(testenv.As(gateway()), &meetingsv1.LoginRequest{Username: username, Password: password,
		ClientAddress: addr, UserAgent: "Mozilla/5.0 (Linux; Android 14; SM-X200) test"})
}

func (w *world) mustLogin(t *testing.T, username, password string) *meetingsv1.LoginResponse {
	t.Helper()
	r, err := w.login(username, password, "192.0.2.10")
	if err != nil {
		t.Fatalf("Login %s: %v", username, err)
	}
	return r
}

func (w *world) resolve(token string) (*meetingsv1.ResolveSessionResponse, error) {
	return w.acc.ResolveSession(testenv.As(gateway()), &meetingsv1.ResolveSessionRequest{SessionToken: token})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	before := time.Now()
	// Usernames are case-insensitive.
	r := w.mustLogin(t, " AN.Nguyen ", goodPassword)

	want := &meetingsv1.Principal{PersonId: w.an, FullName: "Nguyễn Văn An", Username: "an.nguyen",
		OrganizationIds: []string{w.cellA}, AdminOrganizationIds: sorted([]string{w.grass, w.cellA, w.cellB})}
	if diff := cmp.Diff(want, r.GetPrincipal(), protocmpTransform()); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.GetSessionToken())
	if err != nil || len(raw) != 32 {
		t.Errorf("token %q: %d bytes, %v; want 32 random bytes, base64url", r.GetSessionToken(), len(raw), err)
	}
	// Seven days from now; compared loosely, as the database's clock
	// set it.
	if exp := r.GetExpireTime().AsTime(); exp.Before(before.Add(sessionLifetime-time.Hour)) || exp.After(before.Add(sessionLifetime+time.Hour)) {
		t.Errorf("expire_time = %v, want about %v", exp, before.Add(sessionLifetime))
	}

	// Only the token's hash is stored; the password only as argon2id.
	sum := sha256.Sum256([]byte(r.GetSessionToken()))
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE token_hash = $1 AND client_address = '192.0.2.10'`, sum[:]).Scan(&n); err != nil || n != 1 {
		t.Errorf("sessions with the token's SHA-256: %d, %v", n, err)
	}
	var phc string
	if err := w.pool.QueryRow(context.Background(), `SELECT password_hash FROM accounts WHERE person_id = $1`, w.an).Scan(&phc); err != nil ||
		!strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("stored hash %q, %v", phc, err)
	}

	// A password typed decomposed on another keyboard is the same
	// password.
	if _, err := w.login("an.nguyen", "ma\u0323\u0302t khẩu đủ dài 2026", "192.0.2.10"); err != nil {
		t.Errorf("decomposed password: %v", err)
	}

	_, err = w.login("", "", "192.0.2.10")
	wantViolations(t, err, map[string]string{"username": "REQUIRED", "password": "REQUIRED"})
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	_, wrongPassword := w.login("an.nguyen", "sai mật khẩu rồi", "192.0.2.1")
	_, unknownUser := w.login("khong.ton.tai", "sai mật khẩu rồi", "192.0.2.2")
	a, b := testenv.Code(t, wrongPassword, codes.Unauthenticated), testenv.Code(t, unknownUser, codes.Unauthenticated)
	if a.Message() != b.Message() {
		t.Errorf("messages differ: %q vs %q", a.Message(), b.Message())
	}
	if diff := cmp.Diff(a.Proto(), b.Proto(), protocmpTransform()); diff != "" {
		t.Errorf("statuses differ (-wrong password +unknown user):\n%s", diff)
	}
	var vi string
	for _, d := range a.Details() {
		if lm, ok := d.(*errdetails.LocalizedMessage); ok && lm.GetLocale() == "vi-VN" {
			vi = lm.GetMessage()
		}
	}
	if vi != "Tên đăng nhập hoặc mật khẩu không đúng" {
		t.Errorf("Vietnamese message = %q", vi)
	}
}

func TestLoginRateLimitPerUsername(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	// Each failure from its own address, so only the per-username limit
	// is in play. Known and unknown usernames are limited alike.
	for _, username := range []string{"an.nguyen", "khong.ton.tai"} {
		for i := range maxFailuresPerUser {
			_, err := w.login(username, "sai mật khẩu rồi", fmt.Sprintf("198.51.100.%d", i))
			testenv.Code(t, err, codes.Unauthenticated)
		}
		_, err := w.login(username, "sai mật khẩu rồi", "198.51.100.99")
		st := testenv.Code(t, err, codes.ResourceExhausted)
		if !strings.Contains(st.Message(), "try again") {
			t.Errorf("rate limit message %q does not say to retry later", st.Message())
		}
		var retry time.Duration
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				retry = ri.GetRetryDelay().AsDuration()
			}
		}
		if retry <= 0 || retry > loginWindow {
			t.Errorf("RetryInfo delay %v, want within the %v window", retry, loginWindow)
		}
	}
	// Even the right password waits out the limit.
	_, err := w.login("an.nguyen", goodPassword, "198.51.100.100")
	testenv.Code(t, err, codes.ResourceExhausted)

	// Once the failures are older than the window, the account opens
	// again.
	if _, err := w.pool.Exec(context.Background(), `UPDATE login_attempts SET attempt_time = attempt_time - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.login("an.nguyen", goodPassword, "198.51.100.100"); err != nil {
		t.Errorf("login after the window: %v", err)
	}

	// A successful login starts the count afresh.
	for range 2 {
		for range maxFailuresPerUser - 1 {
			_, err := w.login("an.nguyen", "sai mật khẩu rồi", "198.51.100.7")
			testenv.Code(t, err, codes.Unauthenticated)
		}
		if _, err := w.login("an.nguyen", goodPassword, "198.51.100.7"); err != nil {
			t.Fatalf("login after %d failures and a success: %v", maxFailuresPerUser-1, err)
		}
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	// Many usernames from one address: a guesser spraying one password.
	// The port does not make it another address.
	for i := range maxFailuresPerAddr {
		_, err := w.login(fmt.Sprintf("user%d", i), "Mật khẩu phổ biến 1", fmt.Sprintf("203.0.113.5:%d", 40000+i))
		testenv.Code(t, err, codes.Unauthenticated)
	}
	_, err := w.login("an.nguyen", goodPassword, "203.0.113.5")
	testenv.Code(t, err, codes.ResourceExhausted)
	_, err = w.login("nguoi.moi", "bất kỳ", "203.0.113.5:1")
	testenv.Code(t, err, codes.ResourceExhausted)
	if _, err := w.login("an.nguyen", goodPassword, "203.0.113.6"); err != nil {
		t.Errorf("login from another address: %v", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	ctx := context.Background()
	token := w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	hash := sha256.Sum256([]byte(token))

	r, err := w.resolve(token)
	if err != nil || r.GetPrincipal().GetPersonId() != w.an || r.GetExpireTime() == nil {
		t.Fatalf("ResolveSession = %v, %v", r, err)
	}
	// The principal is read fresh: a new membership shows at once.
	w.member(t, w.an, w.cellB)
	r, err = w.resolve(token)
	if err != nil || !cmp.Equal(sorted(r.GetPrincipal().GetOrganizationIds()), sorted([]string{w.cellA, w.cellB})) {
		t.Errorf("organisations after joining cell B = %v, %v", r.GetPrincipal().GetOrganizationIds(), err)
	}

	// last_seen is written at most once a minute.
	lastSeen := func() time.Time {
		var ts time.Time
		if err := w.pool.QueryRow(ctx, `SELECT last_seen FROM sessions WHERE token_hash = $1`, hash[:]).Scan(&ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	setLastSeen := func(ago string) time.Time {
		if _, err := w.pool.Exec(ctx, `UPDATE sessions SET last_seen = now() - $2::interval WHERE token_hash = $1`, hash[:], ago); err != nil {
			t.Fatal(err)
		}
		return lastSeen()
	}
	recent := setLastSeen("30 seconds")
	if _, err := w.resolve(token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(recent) {
		t.Errorf("last_seen rewritten within a minute: %v -> %v", recent, got)
	}
	old := setLastSeen("5 minutes")
	if _, err := w.resolve(token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.After(old.Add(4 * time.Minute)) {
		t.Errorf("last_seen not touched: %v -> %v", old, got)
	}

	// Idle for more than 12 hours: gone.
	setLastSeen("12 hours 1 minute")
	_, err = w.resolve(token)
	testenv.Code(t, err, codes.Unauthenticated)
	var n int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE token_hash = $1`, hash[:]).Scan(&n); err != nil || n != 0 {
		t.Errorf("ended session still stored: %d, %v", n, err)
	}

	// Past the absolute end, however recently used: gone.
	token = w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	hash = sha256.Sum256([]byte(token))
	if _, err := w.pool.Exec(ctx, `UPDATE sessions SET expire_time = now() - interval '1 second' WHERE token_hash = $1`, hash[:]); err != nil {
		t.Fatal(err)
	}
	_, err = w.resolve(token)
	testenv.Code(t, err, codes.Unauthenticated)

	// Logout ends the session; logging out again, or with junk, is fine.
	token = w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	for range 2 {
		if _, err := w.acc.Logout(testenv.As(gateway()), &meetingsv1.LogoutRequest{SessionToken: token}); err != nil {
			t.Fatalf("Logout: %v", err)
		}
	}
	_, err = w.resolve(token)
	testenv.Code(t, err, codes.Unauthenticated)
	if _, err := w.acc.Logout(testenv.As(gateway()), &meetingsv1.LogoutRequest{SessionToken: "rác"}); err != nil {
		t.Errorf("Logout junk: %v", err)
	}
	for _, junk := range []string{"", "rác", base64.RawURLEncoding.EncodeToString(make([]byte, 32))} {
		_, err = w.resolve(junk)
		testenv.Code(t, err, codes.Unauthenticated)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	me := identity.Claims{Subject: w.an, Name: "Nguyễn Văn An", Orgs: []string{w.cellA}}
	s1 := w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	s2 := w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	// The gateway names the session the request came with.
	ctx := metadata.AppendToOutgoingContext(testenv.As(me), SessionMetadataKey, s1)

	change := func(current, next string) error {
		_, err := w.acc.ChangePassword(ctx, &meetingsv1.ChangePasswordRequest{CurrentPassword: current, NewPassword: next})
		return err
	}
	wantViolations(t, change("", "ngắn"), map[string]string{"current_password": "REQUIRED", "new_password": "TOO_SHORT"})
	wantViolations(t, change(goodPassword, "AN.NGUYEN"), map[string]string{"new_password": "TOO_SHORT"})
	wantViolations(t, change(goodPassword, goodPassword), map[string]string{"new_password": "NOT_ALLOWED"})
	wantViolations(t, change("sai mật khẩu rồi", "mật khẩu mới thật dài"), map[string]string{"current_password": "INCORRECT"})

	const newPassword = "mật khẩu mới thật dài"
	if err := change(goodPassword, newPassword); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := w.resolve(s1); err != nil {
		t.Errorf("the caller's own session ended: %v", err)
	}
	_, err := w.resolve(s2)
	testenv.Code(t, err, codes.Unauthenticated)
	_, err = w.login("an.nguyen", goodPassword, "192.0.2.10")
	testenv.Code(t, err, codes.Unauthenticated)
	w.mustLogin(t, "an.nguyen", newPassword)

	// Without the gateway naming a session, every session ends.
	if _, err := w.acc.ChangePassword(testenv.As(me), &meetingsv1.ChangePasswordRequest{CurrentPassword: newPassword, NewPassword: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, "sessions"); n != 0 {
		t.Errorf("%d sessions left after a change without a named session", n)
	}

	// Guessing the current password is rate-limited like logins.
	for range maxFailuresPerUser {
		wantViolations(t, change("đoán mò mật khẩu", "mật khẩu mới khác nữa"), map[string]string{"current_password": "INCORRECT"})
	}
	testenv.Code(t, change(goodPassword, "mật khẩu mới khác nữa"), codes.ResourceExhausted)

	// No account behind the identity.
	_, err = w.acc.ChangePassword(testenv.As(memberOf(w.cellA)), &meetingsv1.ChangePasswordRequest{CurrentPassword: "x", NewPassword: "yyyyyyyyyyyy"})
	testenv.Code(t, err, codes.NotFound)
}

func TestPasswordNotUsername(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	p := w.person(t, "Trần Thị Bình", "")
	w.member(t, p, w.cellA)
	_, err := w.acc.CreateAccount(testenv.As(sysAdmin()), &meetingsv1.CreateAccountRequest{PersonId: p, Username: "binh.tran.2026", Password: "BINH.TRAN.2026"})
	wantViolations(t, err, map[string]string{"password": "SAME_AS_USERNAME"})
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	r, err := w.acc.GetMe(testenv.As(identity.Claims{Subject: w.an}), &meetingsv1.GetMeRequest{})
	if err != nil || r.GetPrincipal().GetUsername() != "an.nguyen" || len(r.GetPrincipal().GetAdminOrganizationIds()) != 3 {
		t.Errorf("GetMe = %v, %v", r, err)
	}
	for _, c := range []identity.Claims{memberOf(w.cellA), {Subject: "khong-phai-uuid"}} {
		_, err := w.acc.GetMe(testenv.As(c), &meetingsv1.GetMeRequest{})
		testenv.Code(t, err, codes.NotFound)
	}
}

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	other := w.org(t, "", "Khối khác", bloc)
	cellX := w.cell(t, other, "Chi bộ X")
	pa := w.person(t, "Lê Văn Ba", "")
	w.member(t, pa, w.cellA)
	px := w.person(t, "Phạm Văn Xa", "")
	w.member(t, px, cellX)
	nowhere := w.person(t, "Vũ Văn Không", "")
	admin := testenv.As(adminOf(w.grass, w.cellA, w.cellB))

	create := func(ctx context.Context, person, username string, roles, orgs []string) (*meetingsv1.Principal, error) {
		r, err := w.acc.CreateAccount(ctx, &meetingsv1.CreateAccountRequest{PersonId: person, Username: username,
			Password: "mật khẩu ban đầu", Roles: roles, AdminOrganizationIds: orgs})
		return r.GetPrincipal(), err
	}

	// Refused: a member; a person outside the admin's organisations, in
	// none, or not at all; administration of an organisation the admin
	// does not hold; the system role.
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		person string
		roles  []string
		orgs   []string
	}{
		{"by a member", testenv.As(memberOf(w.cellA)), pa, nil, nil},
		{"for another bloc's member", admin, px, nil, nil},
		{"for someone in no organisation", admin, nowhere, nil, nil},
		{"for nobody", admin, uuid.NewString(), nil, nil},
		{"granting another bloc", admin, pa, nil, []string{cellX}},
		{"granting system admin", admin, pa, []string{identity.RoleSystemAdmin}, nil},
		{"by the gateway", testenv.As(gateway()), pa, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(tc.ctx, tc.person, "ba.le", tc.roles, tc.orgs)
			testenv.Code(t, err, codes.PermissionDenied)
		})
	}
	if n := w.count(t, "accounts"); n != 1 {
		t.Fatalf("%d accounts after refusals, want 1", n)
	}

	p, err := create(admin, pa, "Ba.Le", nil, []string{w.cellB, w.cellB})
	if err != nil {
		t.Fatalf("admin creating an account for a member: %v", err)
	}
	want := &meetingsv1.Principal{PersonId: pa, FullName: "Lê Văn Ba", Username: "ba.le",
		OrganizationIds: []string{w.cellA}, AdminOrganizationIds: []string{w.cellB}}
	if diff := cmp.Diff(want, p, protocmpTransform()); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	w.mustLogin(t, "ba.le", "mật khẩu ban đầu")

	_, err = create(admin, pa, "ba.le.2", nil, nil)
	testenv.Code(t, err, codes.AlreadyExists)
	q := w.person(t, "Lê Văn Ba", "")
	w.member(t, q, w.cellA)
	_, err = create(admin, q, "ba.le", nil, nil)
	testenv.Code(t, err, codes.AlreadyExists)

	// A system administrator may give anyone any role, but not to a
	// person or organisation that does not exist.
	root, err := create(testenv.As(sysAdmin()), nowhere, "vu.khong", []string{identity.RoleSystemAdmin}, nil)
	if err != nil || !cmp.Equal(root.GetRoles(), []string{identity.RoleSystemAdmin}) {
		t.Errorf("system admin granting system admin = %v, %v", root, err)
	}
	_, err = create(testenv.As(sysAdmin()), uuid.NewString(), "ai.do", nil, nil)
	testenv.Code(t, err, codes.NotFound)
	_, err = create(testenv.As(sysAdmin()), px, "xa.pham", nil, []string{uuid.NewString()})
	testenv.Code(t, err, codes.NotFound)

	_, err = w.acc.CreateAccount(admin, &meetingsv1.CreateAccountRequest{PersonId: "x", Username: "Nguyễn", Password: "ngắn",
		Roles: []string{"king"}, AdminOrganizationIds: []string{"y"}})
	wantViolations(t, err, map[string]string{"person_id": "INVALID_FORMAT", "username": "INVALID_FORMAT", "password": "TOO_SHORT",
		"roles[0]": "UNKNOWN_VALUE", "admin_organization_ids[0]": "INVALID_FORMAT"})
	_, err = w.acc.CreateAccount(admin, &meetingsv1.CreateAccountRequest{PersonId: pa, Username: "ab", Password: ""})
	wantViolations(t, err, map[string]string{"username": "INVALID_FORMAT", "password": "REQUIRED"})
}

func TestAdminRightsReachEveryLevelBelow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	chain := []string{w.org(t, "", "Khối", bloc)}
	for i := range 5 {
		chain = append(chain, w.cell(t, chain[i], fmt.Sprintf("Tầng %d", i+1)))
	}
	side := w.cell(t, chain[0], "Nhánh bên")
	p := w.person(t, "Quản Trị Viên", "")
	w.member(t, p, chain[5])
	w.account(t, p, "quan.tri", goodPassword, nil, []string{chain[1]})
	got := w.mustLogin(t, "quan.tri", goodPassword).GetPrincipal().GetAdminOrganizationIds()
	if diff := cmp.Diff(sorted(chain[1:]), got); diff != "" {
		t.Errorf("administered organisations (-want +got):\n%s", diff)
	}
	_ = side
}

func TestGatewayOnlyRPCs(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	token := w.mustLogin(t, "an.nguyen", goodPassword).GetSessionToken()
	for _, c := range []identity.Claims{sysAdmin(), adminOf(w.cellA), memberOf(w.cellA), {Subject: w.an}} {
		ctx := testenv.As(c)
		_, err := w.acc.Login(ctx, &meetingsv1.LoginRequest{Username: "an.nguyen", Password: goodPassword})
		testenv.Code(t, err, codes.PermissionDenied)
		_, err = w.acc.ResolveSession(ctx, &meetingsv1.ResolveSessionRequest{SessionToken: token})
		testenv.Code(t, err, codes.PermissionDenied)
		_, err = w.acc.Logout(ctx, &meetingsv1.LogoutRequest{SessionToken: token})
		testenv.Code(t, err, codes.PermissionDenied)
	}
	if _, err := w.resolve(token); err != nil {
		t.Errorf("session ended by refused calls: %v", err)
	}
	// And the gateway's identity is good for nothing else.
	g := testenv.As(gateway())
	_, err := w.acc.GetMe(g, &meetingsv1.GetMeRequest{})
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.acc.ChangePassword(g, &meetingsv1.ChangePasswordRequest{CurrentPassword: goodPassword, NewPassword: "mật khẩu khác hẳn"})
	testenv.Code(t, err, codes.PermissionDenied)
}

func TestLoginRehashesOldParameters(t *testing.T) {
	t.Parallel()
	w := newAccountWorld(t)
	cheap := newHasher(argonParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	old, err := cheap.hash(context.Background(), goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(context.Background(), `UPDATE accounts SET password_hash = $2 WHERE person_id = $1`, w.an, old); err != nil {
		t.Fatal(err)
	}
	w.mustLogin(t, "an.nguyen", goodPassword)
	var phc string
	if err := w.pool.QueryRow(context.Background(), `SELECT password_hash FROM accounts WHERE person_id = $1`, w.an).Scan(&phc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash after login = %q, want current parameters", phc)
	}
	w.mustLogin(t, "an.nguyen", goodPassword)
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(defaultParams)
	phc, err := h.hash(ctx, "một mật khẩu")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
		t.Fatalf("PHC string %q", phc)
	}
	if again, _ := h.hash(ctx, "một mật khẩu"); again == phc {
		t.Error("two hashes of one password are equal: salt not random")
	}
	for pw, want := range map[string]bool{"một mật khẩu": true, "một mật khẩu ": false, "": false} {
		ok, stale, err := h.verify(ctx, pw, phc)
		if err != nil || ok != want || stale {
			t.Errorf("verify(%q) = %v, %v, %v; want %v", pw, ok, stale, err, want)
		}
	}
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, _, err := h.verify(ctx, "x", bad); err == nil {
			t.Errorf("verify accepted malformed hash %q", bad)
		}
	}
	if err := h.verifyDummy(ctx, "x"); err != nil {
		t.Errorf("verifyDummy: %v", err)
	}
}
