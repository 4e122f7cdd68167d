package fly

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// checkApp checks a Fly.io app name input.
func checkApp(c *rules.Checker) {
	c.Pattern("app", appPattern, "Fly.io app names use lowercase letters, digits and dashes")
	c.Length("app", limitAppName)
}

// checkEncoding checks a value encoding input.
func checkEncoding(c *rules.Checker) {
	if enc, ok := c.Str("encoding"); ok && enc != string(EncodingPlain) && enc != string(EncodingBase64) {
		c.Fail("encoding", "encoding is %s: use \"plain\" or \"base64\"", rules.Quoted(c.Inputs.Get("encoding"), enc))
	}
}

func encodingOf(e *ValueEncoding) ValueEncoding { return rules.OrDefault(e, EncodingPlain) }

// encode is a value as it is sent to Fly.io under an encoding.
func encode(e *ValueEncoding, value string) string {
	if encodingOf(e) == EncodingBase64 {
		return base64.StdEncoding.EncodeToString([]byte(value))
	}
	return value
}

// flyClient is the Fly client of ctx's provider instance, with the resource's own token when it
// has one.
func flyClient(ctx context.Context, token *string) (*flyapi.Client, error) {
	inst, err := config.Of(ctx)
	if err != nil {
		return nil, err
	}
	return inst.Fly(token)
}

// declare records, in the instance's table, the Fly names a resource's Check found (and its
// prune scope): a name two resources declare, or one inside another's prune scope, fails the
// Check, naming both.
func declare(ctx context.Context, c *rules.Checker, prop, app string, names []string, scope *ownership.Scope) {
	inst, err := config.Of(ctx)
	if err != nil {
		return // not configured yet: nothing to compare with
	}
	if err := inst.Owners.Declare(inst.FlyPlace(app), ownership.OwnerOf(rules.URN(ctx)), names, scope); err != nil {
		c.Fail(prop, "Fly.io app %s: %v", app, err)
	}
}

// confirmTakeover writes again, and confirms again, the secrets a takeover wrote that another
// process unset behind it (Fly has no conditional delete, see flyapi.Op.Confirm), a few times;
// a secret written by someone since is left to them, with a warning. res is the write's answer,
// values what it wrote; it returns the answer of the last write.
func confirmTakeover(
	ctx context.Context, op *flyapi.Op, app, owner string, res flyapi.WriteResult, values map[string]string,
) (flyapi.WriteResult, error) {
	taken := map[string]flyapi.Secret{}
	for _, name := range res.Taken {
		if s, ok := res.Secrets[name]; ok {
			taken[name] = s
		}
	}
	for attempt := 1; len(taken) > 0; attempt++ {
		gone, changed, err := op.Confirm(ctx, res.At, res.Version, taken)
		if err != nil {
			return res, err
		}
		for _, name := range changed {
			p.GetLogger(ctx).Warningf("Fly.io secret %s/%s was written by someone else right after this resource took it "+
				"over: the next refresh shows it as changed outside Pulumi, and the next up writes the program's value "+
				"back", app, name)
		}
		if len(gone) == 0 {
			return res, nil
		}
		if attempt == maxTakeoverWrites {
			//nolint:staticcheck // "Fly.io" is a proper noun
			return res, fmt.Errorf("Fly.io secrets %s of app %s were unset by someone else %d times right after this "+
				"resource took them over: another stack or process is removing them; stop it, then run `pulumi up` again",
				strings.Join(gone, ", "), app, attempt)
		}
		p.GetLogger(ctx).Warningf("Fly.io secrets %s of app %s were unset by another stack or process right after this "+
			"resource took them over: writing them again", strings.Join(gone, ", "), app)
		w := flyapi.Write{Owner: owner}
		for _, name := range gone {
			w.Changes = append(w.Changes, flyapi.Change{Name: name, Kind: flyapi.Take, Value: values[name]})
		}
		again, err := op.Write(ctx, w)
		if err != nil {
			return res, err
		}
		for name, s := range again.Secrets {
			res.Secrets[name] = s
		}
		res.Version, res.At = again.Version, again.At
		taken = map[string]flyapi.Secret{}
		for _, name := range gone {
			taken[name] = again.Secrets[name]
		}
	}
	return res, nil
}

// maxTakeoverWrites bounds how often a takeover writes a secret someone keeps unsetting.
const maxTakeoverWrites = 3

// leftInPlace warns of an unset the write did not make, and how to make it by hand.
func leftInPlace(ctx context.Context, app, name, why string) {
	if why == "gone already" {
		return
	}
	p.GetLogger(ctx).Warningf("left Fly.io secret %s/%s in place: %s. To remove it anyway: "+
		"`fly secrets unset %s --app %s --stage`", app, name, why, name, app)
}

// written is what a resource recorded of its last write of a secret (digest and updated_at,
// RFC 3339, and the app's version), for an unset.
func writtenRecord(digest, at string, version int64) flyapi.Written {
	t, _ := time.Parse(time.RFC3339Nano, at)
	return flyapi.Written{At: t, Digest: digest, Version: version}
}

// checkAppName checks an app name outside Check (a function's input), with Check's words.
func checkAppName(app string) error {
	if !appPattern.MatchString(app) {
		return fmt.Errorf("app is %q: Fly.io app names use lowercase letters, digits and dashes", app)
	}
	if reason := limitAppName.Exceeds("app", len(app)); reason != "" {
		return errors.New(reason)
	}
	return nil
}
