package mlsvc

// Subscribers counts a Broker's open subscriptions, for the tests.
func (b *Broker) Subscribers() int { return b.subscribers() }
