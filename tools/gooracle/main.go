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
// the decoded JSON, with integral numbers as int and others as float64; "typed" is JSON where an
// object {"$t": TYPE, "v": VALUE} (or {"$t": TYPE, "nil": true}) is a value of a Go type:
// int, int8..int64, uint, uint8..uint64, uintptr, float32, float64, bool, string, complex128
// (v: [re, im]), interface{}, and []T or map[string]T of those, recursively (Go's own exec
// tests use such typed data); a string may be given as {"$t": "string", "hex": HEX} for bytes
// that are not UTF-8, and "templateHex" likewise replaces "template". funcs "eso" (the default) is sprig's TxtFuncMap without env,
// expandenv and getHostByName, with the functions ESO's vendored sprig 3.3 adds or changes over
// Debian's 3.2.3 (sha512sum, hexdec, htpasswd's hash algorithm), and ESO's toYaml (which is
// sigs.k8s.io/yaml.Marshal: encoding/json, then go-yaml v2 re-emitting that JSON); ESO's other
// functions (pkcs12, jwk, ...) are not here: their tests are ported as data. funcs "test" is the small FuncMap of
// Go's own exec_test.go (add, echo, oneArg, ...), for porting its cases; "none" is builtins only.
// "output" is the rendered text; bytes that are not valid UTF-8 are reported in "outputHex".
//
// Built with GOPATH=/usr/share/gocode GO111MODULE=off against Debian's sprig (3.2.3).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/Masterminds/sprig"
	"golang.org/x/crypto/bcrypt"
	yaml "gopkg.in/yaml.v2"
)

type request struct {
	ID         interface{}     `json:"id"`
	Name       string          `json:"name"`
	Template   string          `json:"template"`
	TemplateHx string          `json:"templateHex"`
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

// HashAlgorithm is the named string type of htpasswd's third parameter in ESO's sprig.
type HashAlgorithm string

func funcMap() template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	delete(funcs, "getHostByName")
	// What ESO's vendored sprig 3.3 adds or changes (written anew here, same behaviour).
	funcs["sha512sum"] = func(input string) string {
		sum := sha512.Sum512([]byte(input))
		return hex.EncodeToString(sum[:])
	}
	funcs["hexdec"] = func(input string) string {
		out, err := hex.DecodeString(input)
		if err != nil {
			return err.Error()
		}
		return string(out)
	}
	funcs["htpasswd"] = func(user string, password string, algorithm HashAlgorithm) string {
		if strings.Contains(user, ":") {
			return fmt.Sprintf("invalid username: %s", user)
		}
		if algorithm == "sha" {
			sum := sha1.Sum([]byte(password))
			return fmt.Sprintf("%s:{SHA}%s", user, base64.StdEncoding.EncodeToString(sum[:]))
		}
		hashed, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return fmt.Sprintf("failed to encrypt password: %s", err)
		}
		return fmt.Sprintf("%s:%s", user, string(hashed))
	}
	funcs["toYaml"] = func(v interface{}) string {
		j, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		var obj interface{}
		if err := yaml.Unmarshal(j, &obj); err != nil {
			return ""
		}
		out, err := yaml.Marshal(obj)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	return funcs
}

// testFuncMap is the FuncMap of text/template's exec_test.go (those expressible as data).
func testFuncMap() template.FuncMap {
	return template.FuncMap{
		"add": func(args ...int) int {
			sum := 0
			for _, x := range args {
				sum += x
			}
			return sum
		},
		"dddArg": func(a int, b ...string) string { return fmt.Sprintln(a, b) },
		"die":    func() bool { panic("die") },
		"echo":   func(arg interface{}) interface{} { return arg },
		"makemap": func(arg ...string) map[string]string {
			if len(arg)%2 != 0 {
				panic("bad makemap")
			}
			m := make(map[string]string)
			for i := 0; i < len(arg); i += 2 {
				m[arg[i]] = arg[i+1]
			}
			return m
		},
		"mapOfThree":  func() interface{} { return map[string]int{"three": 3} },
		"oneArg":      func(a string) string { return "oneArg=" + a },
		"returnInt":   func() int { return 7 },
		"twoArgs":     func(a, b string) string { return "twoArgs=" + a + b },
		"typeOf":      func(arg interface{}) string { return fmt.Sprintf("%T", arg) },
		"valueString": func(v string) string { return "value is ignored" },
		"zeroArgs":    func() string { return "zeroArgs" },
	}
}

var basicTypes = map[string]reflect.Type{
	"int": reflect.TypeOf(int(0)), "int8": reflect.TypeOf(int8(0)),
	"int16": reflect.TypeOf(int16(0)), "int32": reflect.TypeOf(int32(0)),
	"int64": reflect.TypeOf(int64(0)), "uint": reflect.TypeOf(uint(0)),
	"uint8": reflect.TypeOf(uint8(0)), "uint16": reflect.TypeOf(uint16(0)),
	"uint32": reflect.TypeOf(uint32(0)), "uint64": reflect.TypeOf(uint64(0)),
	"uintptr": reflect.TypeOf(uintptr(0)), "float32": reflect.TypeOf(float32(0)),
	"float64": reflect.TypeOf(float64(0)), "bool": reflect.TypeOf(false),
	"string": reflect.TypeOf(""), "complex128": reflect.TypeOf(complex128(0)),
	"interface{}": reflect.TypeOf((*interface{})(nil)).Elem(),
}

// parseType reads a type name of the "typed" data kind.
func parseType(name string) (reflect.Type, error) {
	if strings.HasPrefix(name, "[]") {
		elem, err := parseType(name[2:])
		if err != nil {
			return nil, err
		}
		return reflect.SliceOf(elem), nil
	}
	if strings.HasPrefix(name, "map[string]") {
		elem, err := parseType(name[len("map[string]"):])
		if err != nil {
			return nil, err
		}
		return reflect.MapOf(reflect.TypeOf(""), elem), nil
	}
	if t, ok := basicTypes[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("unknown type %q", name)
}

// typed builds a Go value of type t (nil t: as the JSON says) from decoded JSON.
func typed(t reflect.Type, v interface{}) (reflect.Value, error) {
	if obj, ok := v.(map[string]interface{}); ok {
		if name, ok := obj["$t"].(string); ok {
			tt, err := parseType(name)
			if err != nil {
				return reflect.Value{}, err
			}
			var inner reflect.Value
			if hexText, ok := obj["hex"].(string); ok && tt.Kind() == reflect.String {
				raw, err := hex.DecodeString(hexText)
				if err != nil {
					return reflect.Value{}, err
				}
				inner = reflect.ValueOf(string(raw))
			} else if isNil, _ := obj["nil"].(bool); isNil {
				inner = reflect.Zero(tt)
			} else if inner, err = typed(tt, obj["v"]); err != nil {
				return reflect.Value{}, err
			}
			if t == nil {
				return inner, nil
			}
			out := reflect.New(t).Elem()
			out.Set(inner)
			return out, nil
		}
	}
	if t == nil || t.Kind() == reflect.Interface {
		var val interface{}
		iface := basicTypes["interface{}"]
		switch x := v.(type) {
		case map[string]interface{}:
			m := make(map[string]interface{}, len(x))
			for k, item := range x {
				elem, err := typed(iface, item)
				if err != nil {
					return reflect.Value{}, err
				}
				m[k] = elem.Interface()
			}
			val = m
		case []interface{}:
			l := make([]interface{}, len(x))
			for i, item := range x {
				elem, err := typed(iface, item)
				if err != nil {
					return reflect.Value{}, err
				}
				l[i] = elem.Interface()
			}
			val = l
		default:
			val = normalize(v)
		}
		if t == nil {
			return reflect.ValueOf(val), nil
		}
		out := reflect.New(t).Elem()
		if val != nil {
			out.Set(reflect.ValueOf(val))
		}
		return out, nil
	}
	out := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Slice:
		items, _ := v.([]interface{})
		out = reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			elem, err := typed(t.Elem(), item)
			if err != nil {
				return reflect.Value{}, err
			}
			out.Index(i).Set(elem)
		}
	case reflect.Map:
		items, _ := v.(map[string]interface{})
		out = reflect.MakeMap(t)
		for k, item := range items {
			elem, err := typed(t.Elem(), item)
			if err != nil {
				return reflect.Value{}, err
			}
			out.SetMapIndex(reflect.ValueOf(k), elem)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			return reflect.Value{}, err
		}
		out.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(fmt.Sprint(v), 10, 64)
		if err != nil {
			return reflect.Value{}, err
		}
		out.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return reflect.Value{}, err
		}
		out.SetFloat(f)
	case reflect.Complex128:
		parts, _ := v.([]interface{})
		if len(parts) != 2 {
			return reflect.Value{}, fmt.Errorf("complex128 wants [re, im]")
		}
		re, _ := strconv.ParseFloat(fmt.Sprint(parts[0]), 64)
		im, _ := strconv.ParseFloat(fmt.Sprint(parts[1]), 64)
		out.SetComplex(complex(re, im))
	case reflect.Bool:
		b, _ := v.(bool)
		out.SetBool(b)
	case reflect.String:
		s, _ := v.(string)
		out.SetString(s)
	}
	return out, nil
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
		if req.DataKind == "json" || req.DataKind == "typed" {
			return nil, nil
		}
		return map[string]string{}, nil
	}
	if req.DataKind == "typed" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v interface{}
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		val, err := typed(nil, v)
		if err != nil {
			return nil, err
		}
		if !val.IsValid() {
			return nil, nil
		}
		return val.Interface(), nil
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
	switch req.Funcs {
	case "none":
	case "test":
		t = t.Funcs(testFuncMap())
	default:
		t = t.Funcs(funcMap())
	}
	if req.Left != "" || req.Right != "" {
		t = t.Delims(req.Left, req.Right)
	}
	text := req.Template
	if req.TemplateHx != "" {
		raw, herr := hex.DecodeString(req.TemplateHx)
		if herr != nil {
			out.Phase, out.Error = "request", herr.Error()
			return out
		}
		text = string(raw)
	}
	t, err = t.Parse(text)
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
	rendered := buf.String()
	if !utf8.ValidString(rendered) {
		out.OutputHex = hex.EncodeToString(buf.Bytes())
		rendered = strings.ToValidUTF8(rendered, "\uFFFD")
	}
	out.Output = &rendered
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
