package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONMasksSecretsAtAnyDepth(t *testing.T) {
	r := New(nil)
	in := `{"username":"ana","password":"hunter2","nested":{"refreshToken":"abc","keep":[1,2.50,{"api_key":{"x":1}}]},"note":"<script>"}`
	out, err := r.JSON([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"username":"ana","password":"********","nested":{"refreshToken":"********","keep":[1,2.50,{"api_key":"********"}]},"note":"<script>"}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	for _, secret := range []string{"hunter2", "abc"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Fatalf("secret %q left in %s", secret, out)
		}
	}
}

func TestJSONRejectsWhatItCannotParse(t *testing.T) {
	r := New(nil)
	for _, in := range []string{`{"password":"x"`, `{"a":1} {"token":2}`, `password=x`, `["secret"` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "]"} {
		if out, err := r.JSON([]byte(in), nil); err == nil {
			t.Errorf("JSON(%.40q) = %s, want an error", in, out)
		}
	}
}

func TestJSONWithoutSecretNamesIsReturnedAsIs(t *testing.T) {
	r := New(nil)
	for _, in := range []string{`{ "name" : "Caneta",  "price": 2.5 }`, `not json at all`, ``} {
		out, err := r.JSON([]byte(in), nil)
		if err != nil || string(out) != in {
			t.Errorf("JSON(%q) = %q, %v; want it unchanged", in, out, err)
		}
	}
	// An escape may spell a secret name, so escaped input is always parsed.
	out, err := r.JSON([]byte(`{"pass\u0077ord":"x"}`), nil)
	if err != nil || string(out) != `{"password":"********"}` {
		t.Errorf("escaped name: %s, %v", out, err)
	}
}

func TestCustomKeys(t *testing.T) {
	r := New([]string{"CPF"})
	out, err := r.JSON([]byte(`{"cpf":"123","password":"p"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"cpf":"********","password":"p"}` {
		t.Fatalf("got %s", out)
	}
}

func TestQuery(t *testing.T) {
	r := New(nil)
	cases := map[string]string{
		"":                               "",
		"page=2&q=shoes":                 "page=2&q=shoes",
		"token=abc&page=2":               "token=********&page=2",
		"page=1&Access_Token=x&b":        "page=1&Access_Token=********&b",
		"pass%77ord=x":                   "pass%77ord=********",
		"api%5Fkey=k&api-key=k2&apikey=": "api%5Fkey=********&api-key=********&apikey=********",
	}
	for in, want := range cases {
		if got := r.Query(in, nil); got != want {
			t.Errorf("Query(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"password":"x"}`, `[{"token":[1,{"a":null}]}]`, `"\u0000"`, `1e999999`, `{"a":"\xff"}`, strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300)} {
		f.Add([]byte(s))
	}
	r := New(nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := r.JSON(in, nil)
		if err != nil {
			return
		}
		if json.Valid(in) && !json.Valid(out) {
			t.Fatalf("JSON(%q) produced invalid JSON %q", in, out)
		}
		if !json.Valid(in) && !bytes.Equal(in, out) {
			t.Fatalf("JSON(%q) = %q: text that is not JSON is returned only when unchanged", in, out)
		}
		var v any
		if json.Unmarshal(out, &v) == nil && containsSecretValue(r, v) {
			t.Fatalf("JSON(%q) = %q left a secret", in, out)
		}
	})
}

func containsSecretValue(r *Redactor, v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if r.IsSecret(k) && val != Mask {
				return true
			}
			if containsSecretValue(r, val) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsSecretValue(r, e) {
				return true
			}
		}
	}
	return false
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{"a=1&token=2", "%zz=1&&password", "password", "=&=&", "\x00=\xff"} {
		f.Add(s)
	}
	r := New(nil)
	f.Fuzz(func(t *testing.T, in string) {
		out := r.Query(in, nil)
		for _, part := range strings.Split(out, "&") {
			name, value, _ := strings.Cut(part, "=")
			if r.IsSecret(queryDecode(name)) && value != Mask {
				t.Fatalf("Query(%q) = %q kept %q", in, out, part)
			}
		}
	})
}
