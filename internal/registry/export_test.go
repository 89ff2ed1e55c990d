package registry

// SetCreateHook makes f run inside every CreatePackage transaction, after the ClientToken check
// and the version allocation (see hooks.inCreate).
func (s *Service) SetCreateHook(f func(token string, version int)) { s.hooks.inCreate = f }
