function libValue() { return 'lib'; }
