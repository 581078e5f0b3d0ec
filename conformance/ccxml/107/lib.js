var fromFile = 'loaded';
