// The front of the vSphere simulator: an HTTP handler in front of the simulator's own handler, on the same listener.
// It serves the fault API under /__vcsim__/, reads the method and _this of every SOAP call, counts them, and fails,
// delays or holds the calls a fault rule matches. Everything else (/sdk calls without a rule, the vAPI tagging
// endpoints at /rest, datastore files) goes to the simulator unchanged.
package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

const adminPrefix = "/__vcsim__/"

type front struct {
	next     http.Handler
	registry *registry
}

func newFront(next http.Handler) *front {
	return &front{next: next, registry: newRegistry()}
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		f.admin(w, r)
		return
	}
	if r.Method != http.MethodPost || !isSOAP(r) {
		f.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	call, ok := parseCall(body)
	if !ok {
		f.next.ServeHTTP(w, r) // not a SOAP envelope: the simulator answers as it would
		return
	}
	f.registry.count(call)
	rule := f.registry.take(call)
	if rule == nil {
		f.next.ServeHTTP(w, r)
		return
	}
	f.apply(rule, call, w, r)
}

func isSOAP(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Content-Type"), "xml") || r.Header.Get("SOAPAction") != ""
}

// apply answers a call a rule matched: hold, then the fault or the simulator's answer; with after_effect the
// simulator handles the call first (a task is started) and its answer is replaced by the fault.
func (f *front) apply(rule *faultRule, call soapCall, w http.ResponseWriter, r *http.Request) {
	log.Printf("vcsim fault %d: %s of %v (fault %q, after_effect %v, hold_ms %d)",
		rule.ID, call.Method, call.Targets, rule.Fault, rule.AfterEffect, rule.HoldMs)
	if !rule.AfterEffect {
		if !f.hold(rule, call, "before", r) {
			log.Printf("vcsim fault %d: the caller of %s left during the hold; the call never reached the simulator",
				rule.ID, call.Method)
			return
		}
		if rule.Fault != "" {
			writeFault(w, rule, call)
			return
		}
		f.next.ServeHTTP(w, r)
		return
	}
	recorder := httptest.NewRecorder()
	f.next.ServeHTTP(recorder, r)
	if !f.hold(rule, call, "after", r) {
		return // the caller is gone: nobody to answer
	}
	if rule.Fault != "" {
		writeFault(w, rule, call)
		return
	}
	for name, values := range recorder.Header() {
		w.Header()[name] = values
	}
	w.WriteHeader(recorder.Code)
	_, _ = w.Write(recorder.Body.Bytes())
}

// hold waits hold_ms, or until DELETE /__vcsim__/faults releases the call; false when the caller closed its
// connection meanwhile (a killed client).
func (f *front) hold(rule *faultRule, call soapCall, phase string, r *http.Request) bool {
	if rule.HoldMs <= 0 {
		return true
	}
	id, released := f.registry.startHold(rule, call, phase)
	defer f.registry.endHold(id)
	timer := time.NewTimer(time.Duration(rule.HoldMs) * time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-released:
		return true
	case <-r.Context().Done():
		return false
	}
}

// parseCall reads the SOAP method (the first child element of Body) and the morefs it is about: _this, and the
// entity argument (SetField and other CustomFieldsManager methods).
func parseCall(body []byte) (soapCall, bool) {
	decoder := xml.NewDecoder(bytes.NewReader(body))
	var call soapCall
	var path []string // local names of the open elements
	var text strings.Builder
	var moType string
	for {
		token, err := decoder.Token()
		if err != nil {
			return call, call.Method != ""
		}
		switch element := token.(type) {
		case xml.StartElement:
			path = append(path, element.Name.Local)
			depth := len(path)
			switch {
			case depth == 1 && element.Name.Local != "Envelope", depth == 2 && element.Name.Local != "Body" &&
				element.Name.Local != "Header":
				return call, false
			case depth == 3 && path[1] == "Body":
				if call.Method != "" {
					return call, true
				}
				call.Method = element.Name.Local
			case depth == 4 && path[1] == "Body":
				text.Reset()
				moType = ""
				for _, attr := range element.Attr {
					if attr.Name.Local == "type" {
						moType = attr.Value
					}
				}
			}
		case xml.CharData:
			if len(path) == 4 {
				text.Write(element)
			}
		case xml.EndElement:
			if len(path) == 4 && path[1] == "Body" {
				value := strings.TrimSpace(text.String())
				switch path[3] {
				case "_this":
					call.This = types.ManagedObjectReference{Type: moType, Value: value}
					call.Targets = append(call.Targets, value)
				case "entity":
					call.Targets = append(call.Targets, value)
				}
			}
			if len(path) == 3 && path[1] == "Body" {
				return call, true
			}
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
}

// The SOAP fault envelope, as govmomi's simulator writes it (simulator.go: soapEnvelope, soapFault, faultDetail are
// unexported there): <soapenv:Fault><faultcode/><faultstring/><detail><SystemErrorFault xsi:type="SystemError"
// xmlns="urn:vim25">...</SystemErrorFault></detail></soapenv:Fault>, which pyVmomi raises as vim.fault.SystemError.
type soapEnvelope struct {
	XMLName xml.Name    `xml:"soapenv:Envelope"`
	Enc     string      `xml:"xmlns:soapenc,attr"`
	Env     string      `xml:"xmlns:soapenv,attr"`
	XSD     string      `xml:"xmlns:xsd,attr"`
	XSI     string      `xml:"xmlns:xsi,attr"`
	Body    interface{} `xml:"soapenv:Body"`
}

type faultDetail struct {
	Fault types.AnyType
}

type soapFault struct {
	XMLName xml.Name `xml:"soapenv:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
	Detail  struct {
		Fault *faultDetail
	} `xml:"detail"`
}

// MarshalXML names the detail element "${Type}Fault" with xsi:type, as vCenter does.
func (d *faultDetail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	start.Name.Local = kind + "Fault"
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: "urn:" + vim25.Namespace},
		xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: kind})
	return e.EncodeElement(d.Fault, start)
}

func writeFault(w http.ResponseWriter, rule *faultRule, call soapCall) {
	fault, message := newFault(rule, call)
	body := struct{ Fault *soapFault }{&soapFault{Code: "ServerFaultCode", String: message}}
	body.Fault.Detail.Fault = &faultDetail{fault}
	var out bytes.Buffer
	fmt.Fprint(&out, xml.Header)
	encoder := xml.NewEncoder(&out)
	err := encoder.Encode(&soapEnvelope{
		Enc:  "http://schemas.xmlsoap.org/soap/encoding/",
		Env:  "http://schemas.xmlsoap.org/soap/envelope/",
		XSD:  "http://www.w3.org/2001/XMLSchema",
		XSI:  "http://www.w3.org/2001/XMLSchema-instance",
		Body: body,
	})
	if err == nil {
		err = encoder.Flush()
	}
	if err != nil {
		http.Error(w, "encoding the injected fault: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(out.Bytes())
}

// admin serves the fault API: /__vcsim__/faults (GET, POST, DELETE), /__vcsim__/calls (GET [?moref=], DELETE) and
// /__vcsim__/held (GET).
func (f *front) admin(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, adminPrefix), "/") {
	case "faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, f.registry.list())
		case http.MethodPost:
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			rule, err := parseRule(body)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			writeJSON(w, http.StatusCreated, f.registry.add(rule))
		case http.MethodDelete:
			writeJSON(w, http.StatusOK, map[string]int{"cleared": f.registry.clear()})
		default:
			writeError(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
		}
	case "calls":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, f.registry.counts(r.URL.Query().Get("moref")))
		case http.MethodDelete:
			f.registry.resetCounts()
			writeJSON(w, http.StatusOK, map[string]int{})
		default:
			writeError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case "held":
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, f.registry.holding())
	default:
		writeError(w, http.StatusNotFound, "no such admin path; use "+adminPrefix+"faults, calls or held")
	}
}

func writeJSON(w http.ResponseWriter, status int, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}
