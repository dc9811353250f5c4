package peerhttp

import "testing"

func TestPoolShares(t *testing.T) {
	p, err := New("http://a", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Set("http://a", "http://b", "http://c")
	shares := p.Shares()
	var sum float64
	for _, m := range []string{"http://a", "http://b", "http://c"} {
		if f := shares[m]; f < 0.2 || f > 0.45 {
			t.Errorf("share of %s = %.3f, want about 1/3", m, f)
		}
		sum += shares[m]
	}
	if len(shares) != 3 || sum < 0.999 || sum > 1.001 {
		t.Errorf("shares = %v (sum %.4f), want 3 members summing to 1", shares, sum)
	}
}
