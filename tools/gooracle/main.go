// gotemplate-oracle renders Go text/template cases the way ESO's v2 engine does, so that
// asyncso's Python implementation can be compared with the real thing byte for byte.
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
//
//	request:  {"id": any, "name": "key", "template": "...", "data": any,
//	           "dataKind": "strings"|"json", "funcs": "eso"|"none",
//	           "missingkey": "error"|"default"|"zero"|"invalid", "left": "{{", "right": "}}"}
//	answer:   {"id": any, "ok": true,  "output": "..."}
//	          {"id": any, "ok": false, "phase": "parse"|"exec"|"request", "error": "..."}
//
// dataKind "strings" (the default) passes data as map[string]string, as ESO does; "json" passes
// the decoded JSON, with integral numbers as int and others as float64. funcs "eso" (the
// default) is sprig's TxtFuncMap without env, expandenv and getHostByName, as ESO vendors it;
// ESO's own functions (pkcs12, jwk, ...) are not here: their tests are ported as data.
// "output" is the rendered text; bytes that are not valid UTF-8 are reported in "outputHex".
//
// Built with GOPATH=/usr/share/gocode GO111MODULE=off against Debian's sprig (3.2.3).
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/Masterminds/sprig"
)

type request struct {
	ID         interface{}     `json:"id"`
	Name       string          `json:"name"`
	Template   string          `json:"template"`
	Data       json.RawMessage `json:"data"`
	DataKind   string          `json:"dataKind"`
	Funcs      string          `json:"funcs"`
	MissingKey string          `json:"missingkey"`
	Left       string          `json:"left"`
	Right      string          `json:"right"`
}

type answer struct {
	ID        interface{} `json:"id"`
	OK        bool        `json:"ok"`
	Output    *string     `json:"output,omitempty"`
	OutputHex string      `json:"outputHex,omitempty"`
	Phase     string      `json:"phase,omitempty"`
	Error     string      `json:"error,omitempty"`
}

func funcMap() template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	delete(funcs, "getHostByName")
	return funcs
}

// normalize turns json.Number into int (when integral) or float64, recursively.
func normalize(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := x.Int64(); err == nil {
				return int(i)
			}
		}
		f, _ := x.Float64()
		return f
	case map[string]interface{}:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []interface{}:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

func decodeData(req *request) (interface{}, error) {
	raw := req.Data
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		if req.DataKind == "json" {
			return nil, nil
		}
		return map[string]string{}, nil
	}
	if req.DataKind == "json" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v interface{}
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return normalize(v), nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func run(req *request) answer {
	out := answer{ID: req.ID}
	data, err := decodeData(req)
	if err != nil {
		out.Phase, out.Error = "request", err.Error()
		return out
	}
	name := req.Name
	if name == "" {
		name = "key"
	}
	missing := req.MissingKey
	if missing == "" {
		missing = "error"
	}
	t := template.New(name).Option("missingkey=" + missing)
	if req.Funcs != "none" {
		t = t.Funcs(funcMap())
	}
	if req.Left != "" || req.Right != "" {
		t = t.Delims(req.Left, req.Right)
	}
	t, err = t.Parse(req.Template)
	if err != nil {
		out.Phase, out.Error = "parse", err.Error()
		return out
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, data)
	if err != nil {
		out.Phase, out.Error = "exec", err.Error()
		return out
	}
	out.OK = true
	text := buf.String()
	if !utf8.ValidString(text) {
		out.OutputHex = hex.EncodeToString(buf.Bytes())
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	out.Output = &text
	return out
}

func main() {
	in := bufio.NewReader(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var ans answer
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				ans = answer{Phase: "request", Error: jerr.Error()}
			} else {
				ans = func() (a answer) {
					defer func() {
						if r := recover(); r != nil {
							a = answer{ID: req.ID, Phase: "exec", Error: fmt.Sprintf("panic: %v", r)}
						}
					}()
					return run(&req)
				}()
			}
			if werr := enc.Encode(ans); werr != nil {
				os.Exit(1)
			}
		}
		if err != nil {
			return
		}
	}
}
