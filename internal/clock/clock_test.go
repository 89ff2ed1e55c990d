package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(t0)
	late, early, never := f.NewTimer(3*time.Second), f.NewTimer(time.Second), f.NewTimer(time.Hour)
	stopped := f.NewTimer(2 * time.Second)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer = false, want true")
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-early.C():
		t.Fatal("timer fired before its deadline")
	default:
	}
	f.Advance(5 * time.Second)
	if got := <-early.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("early fired with %v, want its deadline %v", got, t0.Add(time.Second))
	}
	if got := <-late.C(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("late fired with %v, want %v", got, t0.Add(3*time.Second))
	}
	for name, tm := range map[string]Timer{"stopped": stopped, "never": never} {
		select {
		case <-tm.C():
			t.Errorf("%s timer fired", name)
		default:
		}
	}
	if got, want := f.Now(), t0.Add(5999*time.Millisecond); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	if n := f.Timers(); n != 1 {
		t.Errorf("Timers = %d, want 1 (the hour-long one)", n)
	}
	if f.NewTimer(0); f.Timers() != 1 {
		t.Error("a zero timer must fire at once, not wait")
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(t0)
	done := make(chan time.Time)
	go func() { done <- <-f.After(time.Minute) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil: %v", err)
	}
	f.Advance(time.Minute)
	if got := <-done; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("After delivered %v, want %v", got, t0.Add(time.Minute))
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := f.BlockUntil(short, 1); err == nil {
		t.Error("BlockUntil with no sleeper returned nil, want the context's error")
	}
}
