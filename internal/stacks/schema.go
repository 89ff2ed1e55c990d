package stacks

// PropertiesOf returns the properties a resource type's provider declares (known and
// required), and whether it declares them: for services that rewrite templates before making a
// stack of them (a project adds its tags to every resource that takes Tags).
func (s *Service) PropertiesOf(resourceType string) (known, required []string, ok bool) {
	schema, ok := s.providers[resourceType].(Schema)
	if !ok {
		return nil, nil, false
	}
	known, required = schema.Properties()
	return known, required, true
}
