// The fault registry of the vSphere simulator's fault API: which SOAP calls to fail, delay or hold, how many calls of
// each method arrived, and which calls are held right now. The HTTP side (front.go) asks it what to do with a call.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// faultRule is one POST /__vcsim__/faults, with its counters. Its JSON is what GET /__vcsim__/faults lists.
type faultRule struct {
	ID          int               `json:"id"`
	Method      string            `json:"method"`
	Moref       string            `json:"moref,omitempty"`
	Fault       string            `json:"fault,omitempty"`
	Message     string            `json:"message,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	AfterEffect bool              `json:"after_effect"`
	HoldMs      int               `json:"hold_ms"`
	Count       int               `json:"count"`     // as posted: 0 means until cleared
	Remaining   *int              `json:"remaining"` // null: until cleared
	After       int               `json:"after"`     // matching calls still to let through before the rule applies
	Fired       int               `json:"fired"`     // matching calls the rule applied to
}

// faultRequest is the body of POST /__vcsim__/faults; pointers tell absent from zero.
type faultRequest struct {
	Method      *string           `json:"method"`
	Moref       *string           `json:"moref"`
	Fault       *string           `json:"fault"`
	Message     *string           `json:"message"`
	Fields      map[string]string `json:"fields"`
	AfterEffect *bool             `json:"after_effect"`
	HoldMs      *int              `json:"hold_ms"`
	Count       *int              `json:"count"`
	After       *int              `json:"after"`
}

// soapCall is what the front read from a SOAP request: the method (the first child of Body) and the managed objects
// it is about (_this, and the entity argument of methods such as SetField).
type soapCall struct {
	Method  string
	This    types.ManagedObjectReference
	Targets []string
}

func (c soapCall) about(moref string) bool {
	for _, target := range c.Targets {
		if target == moref {
			return true
		}
	}
	return false
}

// heldCall is a call the front holds right now (GET /__vcsim__/held).
type heldCall struct {
	ID      int      `json:"id"`
	FaultID int      `json:"fault_id"`
	Method  string   `json:"method"`
	Targets []string `json:"morefs"`
	Phase   string   `json:"phase"` // "before" (the simulator has not seen the call) or "after" (it has)
	SinceMs int64    `json:"since_ms"`
	release chan struct{}
}

type registry struct {
	mu       sync.Mutex
	rules    []*faultRule
	nextRule int
	calls    map[string]int            // method -> count
	byTarget map[string]map[string]int // moref -> method -> count
	held     map[int]*heldCall
	nextHold int
}

func newRegistry() *registry {
	return &registry{calls: map[string]int{}, byTarget: map[string]map[string]int{}, held: map[int]*heldCall{}}
}

var baseMethodFault = reflect.TypeOf((*types.BaseMethodFault)(nil)).Elem()

// faultType is the vim25 type of a fault name ("SystemError"), or an error when the name is no vim25 fault.
func faultType(name string) (reflect.Type, error) {
	typ, ok := types.TypeFunc()(name)
	if !ok || typ.Kind() != reflect.Struct || !reflect.PtrTo(typ).Implements(baseMethodFault) {
		return nil, fmt.Errorf("fault %q is not a vim25 fault type (e.g. SystemError, NoPermission, MethodDisabled)", name)
	}
	return typ, nil
}

// parseRule checks a POST body and returns the rule it asks for.
func parseRule(body []byte) (*faultRule, error) {
	var req faultRequest
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&req); err != nil {
		return nil, fmt.Errorf("the body must be a JSON object of method, moref, fault, message, fields, "+
			"after_effect, hold_ms, count, after: %v", err)
	}
	rule := &faultRule{}
	if req.Method == nil || strings.TrimSpace(*req.Method) == "" {
		return nil, fmt.Errorf("method is required: a SOAP method name such as Rename_Task, or * for any")
	}
	rule.Method = strings.TrimSpace(*req.Method)
	if req.Moref != nil {
		rule.Moref = strings.TrimSpace(*req.Moref)
	}
	if req.Fault != nil {
		rule.Fault = strings.TrimSpace(*req.Fault)
	}
	if req.Message != nil {
		rule.Message = *req.Message
	}
	if req.AfterEffect != nil {
		rule.AfterEffect = *req.AfterEffect
	}
	if req.HoldMs != nil {
		if *req.HoldMs < 0 {
			return nil, fmt.Errorf("hold_ms must be a non-negative number of milliseconds")
		}
		rule.HoldMs = *req.HoldMs
	}
	if req.After != nil {
		if *req.After < 0 {
			return nil, fmt.Errorf("after must be a non-negative number of matching calls to let through first")
		}
		rule.After = *req.After
	}
	rule.Count = 1
	if req.Count != nil {
		rule.Count = *req.Count
	}
	if rule.Count > 0 {
		remaining := rule.Count
		rule.Remaining = &remaining
	} else {
		rule.Count = 0
	}
	if rule.Fault == "" && rule.HoldMs == 0 {
		return nil, fmt.Errorf("a fault needs fault (a vim25 fault name such as SystemError) or hold_ms, or both")
	}
	if rule.Fault == "" && (rule.Message != "" || len(req.Fields) > 0) {
		return nil, fmt.Errorf("message and fields describe the fault answered: they need fault")
	}
	if rule.Fault != "" {
		typ, err := faultType(rule.Fault)
		if err != nil {
			return nil, err
		}
		rule.Fields = req.Fields
		probe := reflect.New(typ).Elem()
		for name, text := range rule.Fields {
			if !setStringField(probe, name, text) {
				return nil, fmt.Errorf("fields: %q is no text field of %s, nor a moref field given as Type:value",
					name, rule.Fault)
			}
		}
	}
	return rule, nil
}

func (r *registry) add(rule *faultRule) faultRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextRule++
	rule.ID = r.nextRule
	r.rules = append(r.rules, rule)
	return *rule
}

// clear removes every rule and releases the calls held right now (they go on as if their hold had ended).
func (r *registry) clear() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	cleared := len(r.rules)
	r.rules = nil
	for id, held := range r.held {
		close(held.release)
		delete(r.held, id)
	}
	return cleared
}

func (r *registry) list() []faultRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := make([]faultRule, 0, len(r.rules))
	for _, rule := range r.rules {
		listed = append(listed, *rule)
	}
	return listed
}

// count records a call received.
func (r *registry) count(call soapCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[call.Method]++
	for _, target := range call.Targets {
		if r.byTarget[target] == nil {
			r.byTarget[target] = map[string]int{}
		}
		r.byTarget[target][call.Method]++
	}
}

// counts returns the calls per method, of every call or of the calls about one moref.
func (r *registry) counts(moref string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	source := r.calls
	if moref != "" {
		source = r.byTarget[moref]
	}
	copied := map[string]int{}
	for method, n := range source {
		copied[method] = n
	}
	return copied
}

func (r *registry) resetCounts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = map[string]int{}
	r.byTarget = map[string]map[string]int{}
}

// take returns the rule that applies to the call, consuming one of its uses, or nil. Rules are tried in the order
// they were added; a rule still letting calls through (after) counts the call and lets later rules decide.
func (r *registry) take(call soapCall) *faultRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	for index, rule := range r.rules {
		if (rule.Method != "*" && rule.Method != call.Method) || (rule.Moref != "" && !call.about(rule.Moref)) {
			continue
		}
		if rule.After > 0 {
			rule.After--
			continue
		}
		rule.Fired++
		if rule.Remaining != nil {
			*rule.Remaining--
			if *rule.Remaining <= 0 {
				r.rules = append(r.rules[:index:index], r.rules[index+1:]...)
			}
		}
		applied := *rule
		return &applied
	}
	return nil
}

// startHold records a held call; the channel is closed when DELETE /__vcsim__/faults releases it.
func (r *registry) startHold(rule *faultRule, call soapCall, phase string) (int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextHold++
	held := &heldCall{ID: r.nextHold, FaultID: rule.ID, Method: call.Method, Targets: call.Targets, Phase: phase,
		SinceMs: time.Now().UnixMilli(), release: make(chan struct{})}
	r.held[held.ID] = held
	return held.ID, held.release
}

func (r *registry) endHold(id int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, id)
}

func (r *registry) holding() []heldCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := make([]heldCall, 0, len(r.held))
	for _, held := range r.held {
		listed = append(listed, *held)
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].ID < listed[j].ID })
	return listed
}

// newFault builds the vim25 fault a rule answers for a call: its text fields from the rule's fields, reason from its
// message, and every required moref field (NoPermission.object, ManagedObjectNotFound.obj ...) set to the call's _this.
func newFault(rule *faultRule, call soapCall) (types.BaseMethodFault, string) {
	typ, err := faultType(rule.Fault)
	if err != nil { // parseRule checked the name
		typ, _ = faultType("SystemError")
	}
	message := rule.Message
	if message == "" {
		message = fmt.Sprintf("%s injected by the lab's vCenter fault API into %s", rule.Fault, call.Method)
		if len(call.Targets) > 0 {
			message += " of " + strings.Join(call.Targets, ", ")
		}
	}
	value := reflect.New(typ)
	fillFault(value.Elem(), call.This)
	setStringField(value.Elem(), "reason", message)
	setStringField(value.Elem(), "privilegeId", "System.View")
	for name, text := range rule.Fields {
		setStringField(value.Elem(), name, text)
	}
	return value.Interface().(types.BaseMethodFault), message
}

var morefType = reflect.TypeOf(types.ManagedObjectReference{})

// fillFault sets the required (non-pointer) moref fields of a fault struct, embedded ones included.
func fillFault(value reflect.Value, this types.ManagedObjectReference) {
	for i := 0; i < value.NumField(); i++ {
		field, kind := value.Field(i), value.Type().Field(i)
		switch {
		case kind.Anonymous && field.Kind() == reflect.Struct:
			fillFault(field, this)
		case field.Type() == morefType && this.Value != "":
			field.Set(reflect.ValueOf(this))
		}
	}
}

// setStringField sets the field with that XML name (e.g. "reason"), embedded ones included: a text field to the text,
// a moref field to "Type:value" (e.g. "Task:task-12"); false when the struct has no such field or the moref is not
// written Type:value.
func setStringField(value reflect.Value, name string, text string) bool {
	for i := 0; i < value.NumField(); i++ {
		field, kind := value.Field(i), value.Type().Field(i)
		if kind.Anonymous && field.Kind() == reflect.Struct {
			if setStringField(field, name, text) {
				return true
			}
			continue
		}
		if strings.Split(kind.Tag.Get("xml"), ",")[0] != name {
			continue
		}
		switch {
		case field.Kind() == reflect.String:
			field.SetString(text)
			return true
		case field.Type() == morefType:
			var moref types.ManagedObjectReference
			if !moref.FromString(text) {
				return false
			}
			field.Set(reflect.ValueOf(moref))
			return true
		}
	}
	return false
}
